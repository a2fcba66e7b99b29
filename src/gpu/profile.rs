//! Per-kernel timing with timestamp queries: in profile mode every dispatch runs in its
//! own compute pass whose beginning and end are timestamped; the durations are summed by
//! label into a table (calls, total ms, share, GFLOP/s).

use super::context::{Context, GpuBuffer};
use super::kernels::Shape;
use super::plan::Dispatch;
use crate::{Error, Result};

/// Most timestamps one query set may hold (wgpu's limit).
const MAX_QUERIES: u32 = 4096;

/// Timestamps of one pass.
pub struct Timer {
    query_set: wgpu::QuerySet,
    capacity: u32,
    /// (label, kernel, flops) of each timed dispatch, in query order.
    entries: Vec<(&'static str, &'static str, f64)>,
    resolve: GpuBuffer,
    readback: GpuBuffer,
}

impl Timer {
    /// A timer for up to `dispatches` dispatches (later ones are not timed).
    pub fn new(ctx: &Context, dispatches: usize) -> Result<Timer> {
        if !ctx.timestamps {
            return Err(Error::gpu(
                "timestamp queries are not available on this adapter",
            ));
        }
        let capacity = (2 * dispatches as u32).clamp(2, MAX_QUERIES);
        let query_set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("kernel timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: capacity,
        });
        use wgpu::BufferUsages as U;
        let bytes = capacity as u64 * 8;
        Ok(Timer {
            query_set,
            capacity,
            entries: Vec::new(),
            resolve: ctx.buffer("timestamps", bytes, U::QUERY_RESOLVE | U::COPY_SRC)?,
            readback: ctx.buffer("timestamps read-back", bytes, U::MAP_READ | U::COPY_DST)?,
        })
    }

    /// Timestamp writes for the next dispatch's pass, or `None` when the set is full.
    pub fn next(&mut self, d: &Dispatch, s: Shape) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        let i = 2 * self.entries.len() as u32;
        if i + 2 > self.capacity {
            return None;
        }
        self.entries.push((d.label, d.kernel.name(), d.op.flops(s)));
        Some(wgpu::ComputePassTimestampWrites {
            query_set: &self.query_set,
            beginning_of_pass_write_index: Some(i),
            end_of_pass_write_index: Some(i + 1),
        })
    }

    /// Records the resolve and the copy to the read-back buffer (end of the encoder).
    pub fn resolve(&self, enc: &mut wgpu::CommandEncoder) {
        let n = 2 * self.entries.len() as u32;
        if n == 0 {
            return;
        }
        enc.resolve_query_set(&self.query_set, 0..n, &self.resolve.buffer, 0);
        enc.copy_buffer_to_buffer(
            &self.resolve.buffer,
            0,
            &self.readback.buffer,
            0,
            n as u64 * 8,
        );
    }

    /// Reads the timestamps (after submission) and sums them by label.
    pub async fn finish(self, ctx: &Context) -> Result<Profile> {
        let mut profile = Profile::default();
        if self.entries.is_empty() {
            return Ok(profile);
        }
        let bytes = ctx
            .read(&self.readback.buffer, self.entries.len() as u64 * 16)
            .await?;
        let ticks: &[u64] = bytemuck::cast_slice(&bytes);
        let ns_per_tick = ctx.queue.get_timestamp_period() as f64;
        for (i, (label, kernel, flops)) in self.entries.iter().enumerate() {
            let ns = ticks[2 * i + 1].saturating_sub(ticks[2 * i]) as f64 * ns_per_tick;
            profile.add(label, kernel, ns * 1e-6, *flops);
        }
        Ok(profile)
    }
}

/// One row of the profile: all dispatches sharing a label.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRow {
    pub label: String,
    pub kernel: String,
    pub calls: usize,
    pub ms: f64,
    pub flops: f64,
}

/// Per-kernel GPU time of one or more passes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    pub rows: Vec<ProfileRow>,
}

impl Profile {
    fn add(&mut self, label: &str, kernel: &str, ms: f64, flops: f64) {
        match self.rows.iter_mut().find(|r| r.label == label) {
            Some(r) => {
                r.calls += 1;
                r.ms += ms;
                r.flops += flops;
            }
            None => self.rows.push(ProfileRow {
                label: label.into(),
                kernel: kernel.into(),
                calls: 1,
                ms,
                flops,
            }),
        }
    }

    /// Adds another profile's rows (several passes in one call).
    pub fn merge(&mut self, other: &Profile) {
        for r in &other.rows {
            match self.rows.iter_mut().find(|x| x.label == r.label) {
                Some(x) => {
                    x.calls += r.calls;
                    x.ms += r.ms;
                    x.flops += r.flops;
                }
                None => self.rows.push(r.clone()),
            }
        }
    }

    /// Sum of all kernels' time.
    pub fn total_ms(&self) -> f64 {
        self.rows.iter().map(|r| r.ms).sum()
    }

    /// A Markdown table, slowest first.
    pub fn table(&self) -> String {
        let total = self.total_ms().max(1e-9);
        let mut rows = self.rows.clone();
        rows.sort_by(|a, b| b.ms.total_cmp(&a.ms));
        let mut out = String::from("| kernel | shader | calls | total ms | share | GFLOP/s |\n|---|---|---:|---:|---:|---:|\n");
        for r in rows {
            let gflops = if r.flops > 0.0 && r.ms > 0.0 {
                format!("{:.2}", r.flops / (r.ms * 1e6))
            } else {
                "".into()
            };
            out += &format!(
                "| {} | {} | {} | {:.2} | {:.1}% | {} |\n",
                r.label,
                r.kernel,
                r.calls,
                r.ms,
                100.0 * r.ms / total,
                gflops
            );
        }
        out += &format!("| **total** | | | {:.2} | 100% | |\n", self.total_ms());
        out
    }
}
