use attention_playground::cpu::CpuBackend;
use attention_playground::models::dinov2::Dinov2;
use attention_playground::weights::dinov2::Dinov2Weights;
fn main() {
    let bytes = std::fs::read("www/models/dinov2-s14.f16.safetensors").unwrap();
    let mut b = CpuBackend::new();
    let mut m = Dinov2::load(&mut b, Dinov2Weights::from_bytes(bytes).unwrap()).unwrap();
    let rgba: Vec<u8> = (0..224 * 224 * 4).map(|i| if i % 4 == 3 { 255 } else { ((i as f32 * 0.01).sin() * 127.0 + 128.0) as u8 }).collect();
    for _ in 0..4 {
        let t = std::time::Instant::now();
        let o = pollster::block_on(m.run_image(&mut b, &rgba, 224, 224)).unwrap();
        println!("{} ms ({} maps)", t.elapsed().as_millis(), o.attention.len());
    }
}
