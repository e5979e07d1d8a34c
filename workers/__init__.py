"""Data plane: the Celery replica task, the wgpu device and the wasmtime host on GPU boxes."""
