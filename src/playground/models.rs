//! The life of a model inside a `Playground`, for every model alike: the host copy is parsed
//! once, and the model is uploaded to the backend the session computes on — again when that
//! backend changes (a lost GPU device moves the session to the CPU, which reruns the job), with
//! the other backend's copy dropped so only one is resident.

use crate::backend::{Backend, BackendKind};
use crate::cpu::CpuBackend;
use crate::error::Result;
use crate::gpu::GpuBackend;
use crate::playground::Engine;

/// A model as its host copy (parsed weights, tokenizer, ...): what it becomes on a backend, and
/// how one input runs through it there.
#[allow(async_fn_in_trait)]
pub trait Model {
    /// The model uploaded to `B`.
    type On<B: Backend>;
    type Input;
    type Output;

    fn upload<B: Backend>(&self, b: &mut B) -> Result<Self::On<B>>;

    async fn forward<B: Backend>(&self, on: &mut Self::On<B>, b: &mut B, input: &Self::Input) -> Result<Self::Output>;
}

/// One model of a session: its host copy, and at most one uploaded copy (on the engine's backend).
pub struct ModelSlot<M: Model> {
    model: M,
    cpu: Option<M::On<CpuBackend>>,
    gpu: Option<M::On<GpuBackend>>,
    uploads: usize,
}

impl<M: Model> ModelSlot<M> {
    pub fn new(model: M) -> Self {
        ModelSlot { model, cpu: None, gpu: None, uploads: 0 }
    }

    /// The host copy (config, tokenizer, ...).
    pub fn model(&self) -> &M {
        &self.model
    }

    /// Where the uploaded copy lives, if any.
    pub fn resident(&self) -> Option<BackendKind> {
        match (&self.cpu, &self.gpu) {
            (Some(_), _) => Some(BackendKind::Cpu),
            (_, Some(_)) => Some(BackendKind::Gpu),
            _ => None,
        }
    }

    /// How many times the model was uploaded (once per backend it moved to).
    pub fn uploads(&self) -> usize {
        self.uploads
    }

    /// Uploads the model to the engine's backend unless it is there already.
    pub fn load(&mut self, engine: &mut Engine) -> Result<()> {
        match engine {
            Engine::Cpu(b) => {
                self.gpu = None;
                upload(&self.model, &mut self.cpu, &mut self.uploads, b).map(|_| ())
            }
            Engine::Gpu(b) => {
                self.cpu = None;
                upload(&self.model, &mut self.gpu, &mut self.uploads, b).map(|_| ())
            }
        }
    }

    /// Runs `input` on the engine's backend, uploading the model there first if needed.
    pub async fn run(&mut self, engine: &mut Engine, input: &M::Input) -> Result<M::Output> {
        match engine {
            Engine::Cpu(b) => {
                self.gpu = None;
                let on = upload(&self.model, &mut self.cpu, &mut self.uploads, b)?;
                self.model.forward(on, b, input).await
            }
            Engine::Gpu(b) => {
                self.cpu = None;
                let on = upload(&self.model, &mut self.gpu, &mut self.uploads, b)?;
                self.model.forward(on, b, input).await
            }
        }
    }
}

fn upload<'s, M: Model, B: Backend>(model: &M, slot: &'s mut Option<M::On<B>>, uploads: &mut usize, b: &mut B) -> Result<&'s mut M::On<B>> {
    if slot.is_none() {
        *slot = Some(model.upload(b)?);
        *uploads += 1;
    }
    Ok(slot.as_mut().expect("just uploaded"))
}
