//! Rust definitions that also render themselves as WGSL, so the host and the shaders share one
//! statement of each uniform struct, code and constant (the definitions are in `contract.rs`).
//!
//! `uniform_struct!` declares a `#[repr(C)]` bytemuck struct of 4-byte members; `wgsl_enum!` a
//! `#[repr(u32)]` enum whose variants become `PREFIX_VARIANT` constants. Uniform structs hold only
//! scalars (or `Layout`, three of them), because WGSL pads nested structs and arrays in uniform
//! memory to 16 bytes, which would break the byte-for-byte match with the Rust struct.

/// A member type of a uniform struct: the WGSL member(s) one Rust field becomes.
pub trait WgslField: bytemuck::Pod {
    fn members(name: &str) -> Vec<(String, &'static str)>;
}

macro_rules! scalar_field {
    ($($t:ty),*) => {$(
        impl WgslField for $t {
            fn members(name: &str) -> Vec<(String, &'static str)> {
                vec![(name.to_string(), stringify!($t))]
            }
        }
    )*};
}
scalar_field!(u32, i32, f32);

/// A uniform struct: its WGSL declaration.
pub trait WgslStruct: bytemuck::Pod {
    const NAME: &'static str;
    fn wgsl() -> String;
}

/// A `#[repr(u32)]` enum: the prefix and (variant name, code) of its WGSL constants.
pub trait WgslEnum {
    const PREFIX: &'static str;
    const VARIANTS: &'static [(&'static str, u32)];

    /// `const PREFIX_VARIANT: u32 = code;` for each variant.
    fn wgsl() -> String {
        Self::VARIANTS.iter().map(|(v, code)| format!("const {}: u32 = {code}u;\n", const_name(Self::PREFIX, v))).collect()
    }
}

/// `PREFIX_SCREAMING_SNAKE` of a CamelCase variant (`ScaledDot` → `SCORE_SCALED_DOT`).
pub fn const_name(prefix: &str, variant: &str) -> String {
    let mut out = prefix.to_string();
    for c in variant.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// The WGSL declaration of a struct with these (doc lines, members).
pub fn render_struct(name: &str, fields: &[(&[&str], Vec<(String, &'static str)>)]) -> String {
    let mut s = format!("struct {name} {{\n");
    for (docs, members) in fields {
        for d in *docs {
            s.push_str(&format!("    //{d}\n"));
        }
        for (m, t) in members {
            s.push_str(&format!("    {m}: {t},\n"));
        }
    }
    s.push_str("}\n");
    s
}

/// Declares a uniform struct (`#[repr(C)]`, bytemuck) and its `WgslStruct` rendering; field doc
/// comments are carried into the WGSL.
macro_rules! uniform_struct {
    ($(#[doc = $doc:literal])* pub struct $name:ident { $($(#[doc = $fdoc:literal])* pub $field:ident: $ty:ty,)* }) => {
        $(#[doc = $doc])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
        pub struct $name { $($(#[doc = $fdoc])* pub $field: $ty,)* }

        impl $crate::gpu::wgsl::WgslStruct for $name {
            const NAME: &'static str = stringify!($name);
            fn wgsl() -> String {
                $crate::gpu::wgsl::render_struct(Self::NAME, &[
                    $((&[$($fdoc),*], <$ty as $crate::gpu::wgsl::WgslField>::members(stringify!($field))),)*
                ])
            }
        }
    };
}

/// Declares a `#[repr(u32)]` enum (codes 0, 1, … unless given) and its `WgslEnum` rendering.
macro_rules! wgsl_enum {
    ($(#[$m:meta])* pub enum $name:ident as $prefix:literal { $($(#[$vm:meta])* $variant:ident $(= $code:literal)?,)* }) => {
        $(#[$m])*
        #[repr(u32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name { $($(#[$vm])* $variant $(= $code)?,)* }

        impl $crate::gpu::wgsl::WgslEnum for $name {
            const PREFIX: &'static str = $prefix;
            const VARIANTS: &'static [(&'static str, u32)] = &[$((stringify!($variant), $name::$variant as u32),)*];
        }
    };
}

pub(crate) use {uniform_struct, wgsl_enum};

#[cfg(test)]
mod tests {
    use super::const_name;

    #[test]
    fn constant_names_are_screaming_snake_case() {
        assert_eq!(const_name("SCORE", "ScaledDot"), "SCORE_SCALED_DOT");
        assert_eq!(const_name("NORM", "Entmax15"), "NORM_ENTMAX15");
        assert_eq!(const_name("MASK", "TopK"), "MASK_TOP_K");
    }
}
