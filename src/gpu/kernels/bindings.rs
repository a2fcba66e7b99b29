//! Binding numbers of every kernel, named once. `layers.rs` binds by these names; each
//! shader's header points here, and a test checks every name and number against the WGSL
//! declaration (`@binding(n) var<…> name`). All bindings are in group 0.

/// The kernel's `Params` uniform (its slot of the parameter buffer), in every kernel.
pub const PARAMS: u32 = 0;
/// The `run` uniform of run.wgsl (chunk position, state flags, sequence lengths).
pub const RUN: u32 = 7;

/// Declares one kernel's bindings: a constant per WGSL variable (the upper-case name of
/// the variable) and `ALL`, the (variable, binding) pairs the test checks.
macro_rules! bindings {
    ($(#[$doc:meta])* $kernel:ident { $($name:ident = $n:expr),* $(,)? }) => {
        $(#[$doc])*
        pub mod $kernel {
            $(pub const $name: u32 = $n;)*
            /// (WGSL variable, binding) pairs.
            #[cfg(test)]
            pub const ALL: &[(&str, u32)] = &[$((stringify!($name), $n)),*];
        }
    };
}

bindings!(
    /// row_norm.wgsl (the prelude of layer_norm.wgsl and rms_norm.wgsl)
    layer_norm { X = 1, VECS = 2, Y = 3 }
);
bindings!(
    /// group_norm.wgsl
    group_norm { X = 1, G = 2, VECS = 3, Y = 4 }
);
bindings!(
    /// token_shift.wgsl
    token_shift { XX = 1, SHIFT_STATE = 2, VECS = 3, OUT = 4, OUT2 = 5 }
);
bindings!(
    /// ddlerp.wgsl
    ddlerp { XX = 1, SHIFT_STATE = 2, VECS = 3, LORA = 4, W2 = 5, OUT = 6 }
);
bindings!(
    /// decay.wgsl
    decay { LORA = 1, W2 = 2, VECS = 3, LOGW = 4 }
);
bindings!(
    /// matmul_common.wgsl, with `w` declared by the weight-format prelude (weights_*.wgsl).
    matmul { X = 1, W = 2, Y = 3, AUX = 4 }
);
bindings!(
    /// wkv.wgsl (`WINDOW_STATE`) and wkv_chunked.wgsl (`CHUNK_STATE`, `CHUNK_DECAY`).
    wkv {
        R = 1,
        K = 2,
        V = 3,
        LOGW = 4,
        VECS = 5,
        OUT = 6,
        STATE = 8,
        WINDOW_STATE = 9,
        CHUNK_STATE = 9,
        CHUNK_DECAY = 10,
    }
);
bindings!(
    /// pool.wgsl
    pool { X = 1, POOLED = 2 }
);

#[cfg(test)]
mod tests {
    use super::super::wkv::Phase;
    use super::super::Kernel;
    use super::*;

    /// The binding number WGSL `source` declares for variable `name`.
    fn declared(source: &str, name: &str) -> Option<u32> {
        source.lines().find_map(|line| {
            let rest = line.trim().strip_prefix("@group(0) @binding(")?;
            let (n, decl) = rest.split_once(')')?;
            let var = decl.split('>').nth(1)?.split(':').next()?.trim();
            (var == name).then(|| n.parse().ok())?
        })
    }

    #[test]
    fn every_named_binding_is_the_shaders_own() {
        let wkv = |phase| {
            Kernel::Wkv {
                head_size: 64,
                phase,
            }
            .source()
        };
        let matmul = Kernel::Matmul {
            weights: crate::gpu::Precision::F32,
            tiled: false,
        }
        .source();
        // both reductions: the subgroup prelude must not move a binding
        let norm = |layer: bool| {
            let k = |subgroups| match layer {
                true => Kernel::LayerNorm { subgroups },
                false => Kernel::GroupNorm { subgroups },
            };
            k(false).source() + &k(true).source()
        };
        type Expected<'a> = (&'a str, String, &'a [(&'a str, u32)]);
        let kernels: [Expected; 8] = [
            ("layer_norm", norm(true), layer_norm::ALL),
            ("group_norm", norm(false), group_norm::ALL),
            ("token_shift", Kernel::TokenShift.source(), token_shift::ALL),
            ("ddlerp", Kernel::Ddlerp.source(), ddlerp::ALL),
            ("decay", Kernel::Decay.source(), decay::ALL),
            ("matmul", matmul, matmul::ALL),
            ("wkv", wkv(Phase::Serial) + &wkv(Phase::Scan), wkv::ALL),
            ("pool", Kernel::Pool.source(), pool::ALL),
        ];
        for (kernel, source, all) in kernels {
            assert_eq!(declared(&source, "p"), Some(PARAMS), "{kernel}: p");
            for &(name, n) in all {
                let var = name.to_ascii_lowercase();
                // wkv.wgsl and wkv_chunked.wgsl share numbers 9 for their own buffers
                let found = source
                    .lines()
                    .filter(|l| l.contains(&format!("> {var}:")))
                    .filter_map(|l| declared(l, &var))
                    .collect::<Vec<_>>();
                assert!(
                    found.iter().all(|&f| f == n) && !found.is_empty(),
                    "{kernel}: `{var}` is bound at {found:?}, named {n}"
                );
            }
        }
        assert_eq!(declared(&Kernel::Pool.source(), "run"), Some(RUN));
    }
}
