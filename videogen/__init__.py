"""videogen: text-to-video diffusion with camera control and frame tooling, offline on a CPU.

Exports load on first use (PEP 562), so `import videogen` and `videogen --help` do not pay for torch.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "CameraUNet3D": "videogen.models.denoiser",
    "DEFAULT_MODEL": "videogen.models.registry",
    "load_pipeline": "videogen.models.registry",
    "ImagesResult": "videogen.api",
    "RenderResult": "videogen.api",
    "render_images": "videogen.api",
    "generate": "videogen.api",
    "render": "videogen.api",
    "Request": "videogen.request",
    "Storyboard": "videogen.storyboard",
    "UsageError": "videogen.errors",
    "VideoPipeline": "videogen.pipeline",
    "VideoPipelineOutput": "videogen.pipeline",
}
__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'videogen' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
