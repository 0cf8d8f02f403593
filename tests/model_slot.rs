//! The model lifecycle of a `Playground` (`playground::ModelSlot`), natively: a model is parsed
//! once and uploaded once per backend, reused across runs, moved when the backend changes, and
//! uploaded again to the CPU when the GPU device is lost mid-session (the rerun gives the CPU's
//! numbers). Small random models (no download); GPU = CPU within 1e-5.

use attention_playground::models::bert::{BertWeights, MiniLm};
use attention_playground::models::dinov2::{Dinov2Weights, Image, synthetic};
use attention_playground::playground::{BackendChoice, Engine, Model, ModelSlot, Session};
use attention_playground::weights::StoreAs;
use attention_playground::BackendKind;
mod support;

fn tiny_dinov2() -> Dinov2Weights {
    Dinov2Weights::from_bytes(synthetic(&support::tiny_dinov2_config(vec![8, 4]), 5).unwrap()).unwrap()
}

fn image() -> Image {
    let (width, height) = (60, 40);
    Image { rgba: (0..width * height * 4).map(|i| ((i * 7919) % 251) as u8).collect(), width, height, capture: None }
}

fn minilm() -> MiniLm {
    MiniLm::new(BertWeights::from_web(support::tiny_bert(StoreAs::F32)).unwrap()).unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Everything a vision run returns, flattened, for comparisons.
fn vision_values(o: &attention_playground::models::dinov2::Dinov2Output) -> Vec<f32> {
    let mut v = o.attention.concat();
    v.extend(&o.hidden);
    v.extend(o.saliency.as_deref().unwrap_or_default());
    v
}

fn text_values(o: &attention_playground::models::bert::BertOutput) -> Vec<f32> {
    let mut v = o.attention.concat();
    v.extend(&o.embedding);
    v
}

/// Runs `input` on a fresh CPU engine: the numbers every other path must give.
fn on_cpu<M: Model>(model: M, input: &M::Input) -> M::Output {
    let mut slot = ModelSlot::new(model);
    pollster::block_on(slot.run(&mut Engine::Cpu(Default::default()), input)).unwrap()
}

#[test]
fn a_model_is_uploaded_once_and_reused() {
    let mut s = Session::cpu();
    let mut slot = ModelSlot::new(tiny_dinov2());
    assert_eq!(slot.resident(), None, "nothing is uploaded before the first load");
    slot.load(&mut s.engine).unwrap();
    assert_eq!((slot.resident(), slot.uploads()), (Some(BackendKind::Cpu), 1));
    let a = pollster::block_on(slot.run(&mut s.engine, &image())).unwrap();
    let b = pollster::block_on(slot.run(&mut s.engine, &image())).unwrap();
    assert_eq!(slot.uploads(), 1, "runs reuse the uploaded model");
    assert_eq!(vision_values(&a), vision_values(&b));
    assert_eq!((a.grid_w, a.grid_h), (16, 10));
}

#[test]
fn the_text_model_prepares_its_input_beside_the_model() {
    let model = minilm();
    let enc = model.encode("a a", None);
    assert_eq!(enc.tokens, ["[CLS]", "a", "a", "[SEP]"]);
    let mut slot = ModelSlot::new(model);
    let out = pollster::block_on(slot.run(&mut Engine::Cpu(Default::default()), &enc.into())).unwrap();
    assert_eq!((out.seq, out.attention.len(), out.embedding.len()), (4, 1, 4));
}

/// A slot moved between backends uploads again, keeps one copy, and gives the same numbers.
#[test]
fn a_backend_switch_moves_the_model() {
    let Some(gpu) = support::gpu() else { return };
    let (mut g, mut c) = (Engine::Gpu(gpu), Engine::Cpu(Default::default()));
    let mut slot = ModelSlot::new(tiny_dinov2());
    let on_gpu = pollster::block_on(slot.run(&mut g, &image())).unwrap();
    assert_eq!((slot.resident(), slot.uploads()), (Some(BackendKind::Gpu), 1));
    let on_cpu = pollster::block_on(slot.run(&mut c, &image())).unwrap();
    assert_eq!((slot.resident(), slot.uploads()), (Some(BackendKind::Cpu), 2), "the GPU copy is dropped");
    let diff = max_diff(&vision_values(&on_gpu), &vision_values(&on_cpu));
    assert!(diff <= 1e-5, "GPU and CPU differ by {diff:e}");
}

/// The device is lost after the model went up to the GPU: the session's rerun uploads the host
/// copy to the CPU and answers with the CPU's numbers, for both models.
#[test]
fn a_lost_device_uploads_the_model_again_on_the_cpu() {
    fn check<M: Model>(model: M, reference: M, input: &M::Input, values: impl Fn(&M::Output) -> Vec<f32>) {
        let Ok(mut s) = pollster::block_on(Session::create(BackendChoice::WebGpu)) else { return };
        let mut slot = ModelSlot::new(model);
        slot.load(&mut s.engine).unwrap();
        assert_eq!(slot.resident(), Some(BackendKind::Gpu));
        let Engine::Gpu(gpu) = &s.engine else { unreachable!() };
        gpu.simulate_device_loss();
        let mut attempts = 0;
        let out = pollster::block_on(s.run(async |e| {
            attempts += 1;
            slot.run(e, input).await
        }))
        .unwrap();
        assert_eq!(attempts, 2, "one failed attempt on the GPU, one on the CPU");
        assert_eq!(s.kind(), BackendKind::Cpu);
        assert_eq!((slot.resident(), slot.uploads()), (Some(BackendKind::Cpu), 2));
        assert_eq!(values(&out), values(&on_cpu(reference, input)), "the rerun is the CPU's computation");
    }
    if support::gpu().is_none() {
        return;
    }
    check(tiny_dinov2(), tiny_dinov2(), &image(), vision_values);
    let enc = minilm().encode("a", Some("a a")).into();
    check(minilm(), minilm(), &enc, text_values);
}
