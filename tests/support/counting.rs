//! A backend wrapper that counts the traffic between host and backend (test support).

use attention_playground::attention::rollout::RolloutArgs;
use attention_playground::backend::{AttentionArgs, AttentionOutput, BackendKind, Col2Im, LayerNorm, Linear, Resize};
use attention_playground::{Backend, Result};

/// Counts the traffic between host and backend: `upload`s (with their sizes) and `read`s. On the
/// GPU backend `read` is the only place that submits, so reads = submissions = readbacks.
pub struct Counting<B> {
    pub inner: B,
    pub uploads: usize,
    pub uploaded_floats: usize,
    pub reads: usize,
}

impl<B> Counting<B> {
    pub fn new(inner: B) -> Self {
        Counting { inner, uploads: 0, uploaded_floats: 0, reads: 0 }
    }

    pub fn reset(&mut self) {
        (self.uploads, self.uploaded_floats, self.reads) = (0, 0, 0);
    }
}

impl<B: Backend> Backend for Counting<B> {
    type Tensor = B::Tensor;
    type Weight = B::Weight;

    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }

    fn upload(&mut self, data: &[f32]) -> Result<B::Tensor> {
        self.uploads += 1;
        self.uploaded_floats += data.len();
        self.inner.upload(data)
    }

    fn len(&self, t: &B::Tensor) -> usize {
        self.inner.len(t)
    }

    fn upload_weight(&mut self, w: &[f32], inp: usize, out: usize) -> Result<B::Weight> {
        self.uploads += 1;
        self.uploaded_floats += w.len();
        self.inner.upload_weight(w, inp, out)
    }

    fn linear(&mut self, op: &Linear<'_, B::Tensor, B::Weight>) -> Result<B::Tensor> {
        self.inner.linear(op)
    }

    fn col2im(&mut self, op: &Col2Im<'_, B::Tensor>) -> Result<B::Tensor> {
        self.inner.col2im(op)
    }

    fn resize(&mut self, op: &Resize<'_, B::Tensor>) -> Result<B::Tensor> {
        self.inner.resize(op)
    }

    fn layer_norm(&mut self, op: &LayerNorm<'_, B::Tensor>) -> Result<B::Tensor> {
        self.inner.layer_norm(op)
    }

    fn attention(&mut self, args: &AttentionArgs<'_, B::Tensor>) -> Result<AttentionOutput<B::Tensor>> {
        self.inner.attention(args)
    }

    fn rollout(&mut self, args: &RolloutArgs<'_, B::Tensor>) -> Result<B::Tensor> {
        self.inner.rollout(args)
    }

    async fn read(&mut self, tensors: &[&B::Tensor]) -> Result<Vec<Vec<f32>>> {
        self.reads += 1;
        self.inner.read(tensors).await
    }
}
