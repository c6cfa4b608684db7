"""codelm: a general transformer core for code (`codelm.core`), its objectives, one trainer
(`codelm.train`), recipes, the tasks that use trained models, and the faces (CLI, server, MCP)."""

__version__ = "0.1.0"
