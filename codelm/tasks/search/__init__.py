"""The search job beyond the index: encoder evaluation, search verified in the sandbox, call signatures."""
