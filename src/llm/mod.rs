//! The LLM port: the roles ask a model through a trait; Ollama is the first implementation.
