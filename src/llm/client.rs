//! The one client type both wire formats share: the chat driver (HTTP, settings, ledger,
//! progress, redaction, calibration) and what one kind of server needs besides it, so the
//! builders and accessors exist once for Ollama and OpenAI-compatible servers.

use std::sync::Arc;

use super::calibrate::ModelCalibration;
use super::driver::Driver;
use super::progress::{Ledger, ProgressSink};
use super::{LlmError, LlmSettings};

/// A model server's client: the driver, and `S`, what that kind of server keeps per run.
pub struct Client<S> {
    pub(super) driver: Driver,
    pub(super) server: S,
}

impl<S> Client<S> {
    pub(super) fn with_server(settings: LlmSettings, server: S) -> Result<Self, LlmError> {
        Ok(Client {
            driver: Driver::new(settings)?,
            server,
        })
    }

    /// Records every call into this (shared) ledger.
    pub fn with_ledger(mut self, ledger: Ledger) -> Self {
        self.driver.ledger = ledger;
        self
    }

    /// Where progress lines go (`None`: nowhere). Default: stderr.
    pub fn with_progress(mut self, sink: Option<Arc<dyn ProgressSink>>) -> Self {
        self.driver.progress = sink;
        self
    }

    /// Secrets replaced by `[REDACTED]` in every message before it leaves the process.
    pub fn with_secrets(mut self, secrets: Vec<String>) -> Self {
        self.driver.secrets = secrets;
        self
    }

    pub fn settings(&self) -> &LlmSettings {
        &self.driver.settings
    }

    pub fn ledger(&self) -> &Ledger {
        &self.driver.ledger
    }

    /// What the run learned about `model`'s tokenizer.
    pub fn calibration(&self, model: &str) -> ModelCalibration {
        self.driver.calibration.get(model)
    }
}
