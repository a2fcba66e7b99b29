//! The wgpu engine: context, buffers, pipelines and dispatch. Each kernel is one
//! WGSL file in `shaders/`.
