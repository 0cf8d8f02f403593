//! The contract between the host and the shaders, stated once: every uniform struct, every code
//! a kernel branches on and every size both sides must agree on. `prelude()` renders it as WGSL,
//! and `KernelCache` joins that prelude before each shader's source, so the shaders use these
//! names and declare none of them (the `shaders_declare_no_prelude_name` test checks).

use super::wgsl::{uniform_struct, wgsl_enum, WgslEnum, WgslField, WgslStruct};
use crate::attention::flash::{block_k, GPU_CHUNK_TILES, MAX_HEAD_DIM, TILE_FLOATS};
use crate::attention::rollout::HeadFusion;
use crate::attention::{Mask, Normalizer, Positions, Score};
use crate::backend::HeadLayout;

/// Where a [heads, seq, dim] operand lives in its buffer: element (h, i, c) is at
/// off + h·hs + i·rs + c. In WGSL, a field `q: Layout` is the members `q_off`, `q_hs`, `q_rs`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Layout {
    pub off: u32,
    pub hs: u32,
    pub rs: u32,
}

impl From<&HeadLayout> for Layout {
    fn from(l: &HeadLayout) -> Layout {
        Layout { off: l.offset as u32, hs: l.head_stride as u32, rs: l.row_stride as u32 }
    }
}

impl WgslField for Layout {
    fn members(name: &str) -> Vec<(String, &'static str)> {
        ["off", "hs", "rs"].iter().map(|m| (format!("{name}_{m}"), "u32")).collect()
    }
}

wgsl_enum! {
    /// `Score` as the kernels see it.
    pub enum ScoreKind as "SCORE" { Dot, ScaledDot, Cosine, NegSqDist, Additive, }
}

wgsl_enum! {
    /// `Mask` as the kernels see it (the argument travels separately).
    pub enum MaskKind as "MASK" { None, Causal, Window, TopK, }
}

wgsl_enum! {
    /// `Positions` as the kernels see it (the tables travel separately).
    pub enum PositionKind as "POS" { None, Rope, Alibi, RelativeBias, }
}

wgsl_enum! {
    /// `Normalizer` as the kernels see it.
    pub enum NormKind as "NORM" { Softmax, Sparsemax, Entmax15, }
}

wgsl_enum! {
    /// `HeadFusion` as the rollout kernel sees it.
    pub enum FuseKind as "FUSE" { Mean, Max, Min, }
}

wgsl_enum! {
    /// Bits of `LinearParams::flags`: which epilogue steps `linear` applies.
    pub enum LinearFlag as "LINEAR" { HasBias = 1, Gelu = 2, HasResidual = 4, HasScale = 8, GeluTanh = 16, }
}

impl From<&Score> for ScoreKind {
    fn from(s: &Score) -> ScoreKind {
        match s {
            Score::Dot => ScoreKind::Dot,
            Score::ScaledDot => ScoreKind::ScaledDot,
            Score::Cosine => ScoreKind::Cosine,
            Score::NegSqDist => ScoreKind::NegSqDist,
            Score::Additive(_) => ScoreKind::Additive,
        }
    }
}

impl From<Mask> for MaskKind {
    fn from(m: Mask) -> MaskKind {
        match m {
            Mask::None => MaskKind::None,
            Mask::Causal => MaskKind::Causal,
            Mask::Window(_) => MaskKind::Window,
            Mask::TopK(_) => MaskKind::TopK,
        }
    }
}

impl From<&Positions> for PositionKind {
    fn from(p: &Positions) -> PositionKind {
        match p {
            Positions::None => PositionKind::None,
            Positions::Rope => PositionKind::Rope,
            Positions::Alibi => PositionKind::Alibi,
            Positions::RelativeBias(_) => PositionKind::RelativeBias,
        }
    }
}

impl From<Normalizer> for NormKind {
    fn from(n: Normalizer) -> NormKind {
        match n {
            Normalizer::Softmax => NormKind::Softmax,
            Normalizer::Sparsemax => NormKind::Sparsemax,
            Normalizer::Entmax15 => NormKind::Entmax15,
        }
    }
}

impl From<HeadFusion> for FuseKind {
    fn from(f: HeadFusion) -> FuseKind {
        match f {
            HeadFusion::Mean => FuseKind::Mean,
            HeadFusion::Max => FuseKind::Max,
            HeadFusion::Min => FuseKind::Min,
        }
    }
}

/// Output tile edge of one `linear` workgroup.
pub const LINEAR_TILE: u32 = 64;

/// Sizes the shaders take from the host, as (WGSL name, value).
const SIZES: &[(&str, u32)] = &[
    ("CHUNK_TILES", GPU_CHUNK_TILES as u32),
    ("TILE_VEC4", (TILE_FLOATS / 4) as u32),
    ("MAX_ROW_VEC4", (MAX_HEAD_DIM / 4) as u32),
    ("MAX_BK", block_k(1) as u32),
    ("LINEAR_TILE", LINEAR_TILE),
];

uniform_struct! {
    /// shaders/attention.wgsl, every kernel.
    pub struct AttentionParams {
        pub heads: u32,
        pub seq_q: u32,
        pub seq_k: u32,
        pub head_dim: u32,
        pub q: Layout,
        pub k: Layout,
        pub v: Layout,
        pub o: Layout,
        /// ScoreKind
        pub score: u32,
        /// MaskKind
        pub mask: u32,
        /// window w or k
        pub mask_arg: u32,
        /// NormKind
        pub normalizer: u32,
        /// PositionKind
        pub positions: u32,
        /// additive hidden size
        pub hidden: u32,
        pub slopes_off: u32,
        pub rope_off: u32,
        pub rel_off: u32,
        /// project: offset of the projection matrix in aux
        pub w_off: u32,
        /// offset of the additive v in aux
        pub av_off: u32,
        /// the dropout seed's low and high words
        pub seed_lo: u32,
        pub seed_hi: u32,
        pub temperature: f32,
        /// 1/√head_dim, rounded on the host as the CPU does
        pub scale: f32,
        pub drop_p: f32,
        /// 1/(1−p), rounded on the host as the CPU does
        pub drop_scale: f32,
        pub stats: u32,
        /// project: 0 projects q, 1 projects k
        pub which: u32,
        /// temperature = temperature (in [1, 2)) · 2^temp_exp
        pub temp_exp: i32,
        /// project: W in aux is W · 2^−w_exp
        pub w_exp: i32,
        /// additive v in aux is v · 2^−av_exp
        pub av_exp: i32,
    }
}

uniform_struct! {
    /// shaders/flash.wgsl.
    pub struct FlashParams {
        pub heads: u32,
        pub seq_q: u32,
        pub seq_k: u32,
        pub head_dim: u32,
        pub q: Layout,
        pub k: Layout,
        pub v: Layout,
        pub o: Layout,
        /// ScoreKind
        pub score: u32,
        /// MaskKind
        pub mask: u32,
        pub window: u32,
        pub temperature: f32,
        /// PositionKind
        pub positions: u32,
        /// this dispatch's keys [j_begin, j_end) (multiples of BK, or seq_k)
        pub j_begin: u32,
        pub j_end: u32,
        /// 1 when this dispatch starts / ends the walk over the keys
        pub first: u32,
        pub last: u32,
        /// the query block of workgroup 0
        pub block_begin: u32,
        /// temperature = temperature (in [1, 2)) · 2^temp_exp
        pub temp_exp: i32,
    }
}

uniform_struct! {
    /// shaders/rollout.wgsl.
    pub struct RolloutParams {
        pub layers: u32,
        pub heads: u32,
        pub seq: u32,
        /// FuseKind
        pub fusion: u32,
        pub residual: u32,
        /// rollout_step: which cumulative layer to compute
        pub layer: u32,
    }
}

uniform_struct! {
    /// shaders/dense.wgsl, `linear`.
    pub struct LinearParams {
        pub rows: u32,
        pub k: u32,
        pub n: u32,
        /// LinearFlag bits
        pub flags: u32,
    }
}

uniform_struct! {
    /// shaders/dense.wgsl, `layer_norm`.
    pub struct NormParams {
        pub rows: u32,
        pub dim: u32,
        /// Workgroups along x; rows beyond 65535 continue in y.
        pub groups_x: u32,
        pub eps: f32,
    }
}

uniform_struct! {
    /// shaders/upsample.wgsl, `col2im`.
    pub struct Col2ImParams {
        pub width: u32,
        pub height: u32,
        pub channels: u32,
        /// Leading rows of `taps` that are not pixels.
        pub skip: u32,
        /// Output elements: 4 · width · height · channels.
        pub total: u32,
        /// Workgroups along x; the rest continue in y.
        pub groups_x: u32,
    }
}

uniform_struct! {
    /// shaders/upsample.wgsl, `resize`.
    pub struct ResizeParams {
        pub planes: u32,
        pub width: u32,
        pub height: u32,
        pub out_width: u32,
        pub out_height: u32,
        /// 1: apply the sigmoid.
        pub sigmoid: u32,
        pub groups_x: u32,
    }
}

/// The WGSL text of the contract, built once.
pub fn prelude() -> &'static str {
    static PRELUDE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PRELUDE.get_or_init(|| {
        let mut s = String::from("// Generated from src/gpu/contract.rs and joined before each shader; do not copy.\n\n");
        for e in [ScoreKind::wgsl(), MaskKind::wgsl(), PositionKind::wgsl(), NormKind::wgsl(), FuseKind::wgsl(), LinearFlag::wgsl()] {
            s.push_str(&e);
        }
        for (name, value) in SIZES {
            s.push_str(&format!("const {name}: u32 = {value}u;\n"));
        }
        for st in [AttentionParams::wgsl(), FlashParams::wgsl(), RolloutParams::wgsl(), LinearParams::wgsl(), NormParams::wgsl(), Col2ImParams::wgsl(), ResizeParams::wgsl()] {
            s.push('\n');
            s.push_str(&st);
        }
        s.push('\n');
        s
    })
}

/// Every name the prelude declares (a `const` or a `struct`).
#[cfg(test)]
fn prelude_names() -> Vec<&'static str> {
    prelude()
        .lines()
        .filter_map(|l| l.strip_prefix("const ").or_else(|| l.strip_prefix("struct ")))
        .filter_map(|rest| rest.split([':', ' ']).next())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wgpu::naga;

    /// Every shader's source as its module is built (before the prelude).
    fn shaders() -> [(&'static str, &'static str); 5] {
        [
            ("attention", super::super::attention::SOURCE),
            ("flash", super::super::flash::SOURCE),
            ("rollout", super::super::rollout::SOURCE),
            ("dense", super::super::dense::SOURCE),
            ("upsample", super::super::upsample::SOURCE),
        ]
    }

    /// The prelude names that `source` declares again (as a const, override, struct, alias,
    /// function or variable), in any scope.
    fn redeclared(source: &str) -> Vec<String> {
        let names = prelude_names();
        let mut found = Vec::new();
        for line in source.lines() {
            let mut words = line.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty());
            while let Some(w) = words.next() {
                if matches!(w, "const" | "override" | "struct" | "alias" | "fn" | "let" | "var") {
                    // `var<uniform> p` splits as var, uniform, p: skip an address space.
                    let mut name = words.next();
                    if w == "var" && matches!(name, Some("uniform" | "storage" | "workgroup" | "private" | "function")) {
                        name = words.find(|n| !matches!(*n, "read" | "read_write" | "write"));
                    }
                    if let Some(n) = name.filter(|n| names.contains(n)) {
                        found.push(format!("{w} {n}"));
                    }
                }
            }
        }
        found
    }

    #[test]
    fn shaders_declare_no_prelude_name() {
        for (name, source) in shaders() {
            assert_eq!(redeclared(source), Vec::<String>::new(), "{name}: declares its own copy of a name in the prelude (src/gpu/contract.rs)");
        }
        // and the check sees a copy when there is one
        assert_eq!(redeclared("const MASK_CAUSAL: u32 = 1u;\nstruct FlashParams { a: u32 }"), ["const MASK_CAUSAL", "struct FlashParams"]);
        assert_eq!(redeclared("override CHUNK_TILES: u32 = 4u;\nfn f() { let SCORE_DOT = 0u; }"), ["override CHUNK_TILES", "let SCORE_DOT"]);
    }

    fn module(source: &str) -> naga::Module {
        let text = format!("{}{source}", prelude());
        let module = naga::front::wgsl::parse_str(&text).unwrap_or_else(|e| panic!("{}", e.emit_to_string(&text)));
        naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
            .validate(&module)
            .unwrap_or_else(|e| panic!("{}", e.emit_to_string(&text)));
        module
    }

    #[test]
    fn every_shader_validates_with_the_prelude() {
        for (_, source) in shaders() {
            module(source);
        }
    }

    /// Each uniform struct has the same size and member offsets in WGSL as in Rust: 4-byte
    /// members, packed (the Rust struct is `repr(C)` of 4-byte fields, so member i is at 4·i).
    #[test]
    fn uniform_structs_have_the_rust_layout() {
        let m = module("");
        let sizes = [
            (AttentionParams::NAME, std::mem::size_of::<AttentionParams>()),
            (FlashParams::NAME, std::mem::size_of::<FlashParams>()),
            (RolloutParams::NAME, std::mem::size_of::<RolloutParams>()),
            (LinearParams::NAME, std::mem::size_of::<LinearParams>()),
            (NormParams::NAME, std::mem::size_of::<NormParams>()),
            (Col2ImParams::NAME, std::mem::size_of::<Col2ImParams>()),
            (ResizeParams::NAME, std::mem::size_of::<ResizeParams>()),
        ];
        for (name, size) in sizes {
            let ty = m.types.iter().find(|(_, t)| t.name.as_deref() == Some(name)).map(|(_, t)| &t.inner);
            let Some(naga::TypeInner::Struct { members, span }) = ty else { panic!("{name} is not a struct in the prelude") };
            assert_eq!(*span as usize, size, "{name}: WGSL size");
            for (i, member) in members.iter().enumerate() {
                assert_eq!(member.offset as usize, 4 * i, "{name}.{:?}", member.name);
            }
            assert!(size <= super::super::kernel::PARAMS_SLOT as usize, "{name} exceeds a uniform slot");
        }
    }
}
