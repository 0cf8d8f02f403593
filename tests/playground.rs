//! The instance logic behind the JS `Playground`: backend choice, validation of requests in the
//! API's terms, and the move to the CPU when the GPU device is lost.

use attention_playground::attention::{AttentionDims, AttentionSpec};
use attention_playground::playground::{AttentionRequest, BackendChoice, Engine, Session};
use attention_playground::{on_backend, Backend, BackendKind, Error};

fn request(heads: usize, seq_q: usize, seq_k: usize, head_dim: usize) -> AttentionRequest {
    let n = |s: usize| (0..heads * s * head_dim).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<f32>>();
    AttentionRequest {
        dims: AttentionDims { heads, seq_q, seq_k, head_dim },
        q: n(seq_q),
        k: n(seq_k),
        v: n(seq_k),
        spec: AttentionSpec::default(),
    }
}

fn invalid_message(r: Result<(), Error>) -> String {
    match r {
        Err(Error::Invalid(m)) => m,
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

#[test]
fn backend_names_parse_and_bad_ones_say_what_is_allowed() {
    assert_eq!(BackendChoice::parse("auto").unwrap(), BackendChoice::Auto);
    assert_eq!(BackendChoice::parse("webgpu").unwrap(), BackendChoice::WebGpu);
    assert_eq!(BackendChoice::parse("cpu").unwrap(), BackendChoice::Cpu);
    let m = invalid_message(BackendChoice::parse("gpu").map(|_| ()));
    assert_eq!(m, "backend must be 'auto', 'webgpu' or 'cpu', got 'gpu'");
}

#[test]
fn requests_are_checked_in_the_api_terms() {
    assert!(request(2, 3, 5, 4).validate().is_ok());

    let mut r = request(2, 3, 5, 4);
    r.q.pop();
    assert_eq!(invalid_message(r.validate()), "q must have heads × seqQ × headDim = 2 × 3 × 4 = 24 values, got 23");

    let mut r = request(2, 3, 5, 4);
    r.v.push(0.0);
    assert_eq!(invalid_message(r.validate()), "v must have heads × seqK × headDim = 2 × 5 × 4 = 40 values, got 41");

    let mut r = request(1, 2, 2, 2);
    r.k[3] = f32::INFINITY;
    assert_eq!(invalid_message(r.validate()), "k[3] must be a finite number, got inf");

    let mut r = request(1, 2, 2, 2);
    r.spec.temperature = -1.0;
    assert!(invalid_message(r.validate()).contains("temperature must be a finite number > 0"));
}

#[test]
fn cpu_session_reports_cpu_and_no_fallback() {
    let s = pollster::block_on(Session::create(BackendChoice::Cpu)).unwrap();
    assert_eq!(s.kind(), BackendKind::Cpu);
    assert_eq!(s.fallback_reason, None);
}

fn gpu_session() -> Option<Session> {
    match pollster::block_on(Session::create(BackendChoice::WebGpu)) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("\n!!!! SKIPPING GPU TEST: {e} (install mesa-vulkan-drivers) !!!!\n");
            None
        }
    }
}

#[test]
fn auto_uses_the_gpu_when_there_is_one() {
    let Some(_) = gpu_session() else { return };
    let s = pollster::block_on(Session::create(BackendChoice::Auto)).unwrap();
    assert_eq!(s.kind(), BackendKind::Gpu);
    assert_eq!(s.fallback_reason, None);
}

/// A repeatable job: upload, read back, on whatever backend the session has.
async fn round_trip(engine: &mut Engine, data: &[f32]) -> Result<(BackendKind, Vec<f32>), Error> {
    let kind = engine.kind();
    on_backend!(engine, b => {
        let t = b.upload(data)?;
        let mut out = b.read(&[&t]).await?;
        Ok((kind, out.remove(0)))
    })
}

#[test]
fn a_lost_device_moves_the_session_to_the_cpu_and_reruns() {
    let Some(mut s) = gpu_session() else { return };
    let data: Vec<f32> = (0..1000).map(|i| i as f32 * 0.5).collect();
    let first = pollster::block_on(s.run(async |e| round_trip(e, &data).await)).unwrap();
    assert_eq!(first, (BackendKind::Gpu, data.clone()));

    let Engine::Gpu(gpu) = &s.engine else { unreachable!() };
    gpu.simulate_device_loss();
    let mut attempts = 0;
    let second = pollster::block_on(s.run(async |e| {
        attempts += 1;
        round_trip(e, &data).await
    }))
    .unwrap();
    assert_eq!(second, (BackendKind::Cpu, data.clone()), "the rerun happens on the CPU with the same result");
    assert_eq!(attempts, 2, "one failed attempt on the GPU, one on the CPU");
    assert_eq!(s.kind(), BackendKind::Cpu);
    let reason = s.fallback_reason.clone().unwrap();
    assert!(reason.contains("lost"), "{reason}");
}

#[test]
fn errors_other_than_device_loss_are_not_retried() {
    let mut s = Session::cpu();
    let mut attempts = 0;
    let r: Result<(), Error> = pollster::block_on(s.run(async |_| {
        attempts += 1;
        Err(Error::Invalid("bad".into()))
    }));
    assert_eq!(r, Err(Error::Invalid("bad".into())));
    assert_eq!(attempts, 1);
}
