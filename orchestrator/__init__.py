"""Control plane: dispatch, the quorum chord body (settle), dead-letter replay, reputation."""
