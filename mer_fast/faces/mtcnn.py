"""The three networks of MTCNN (Zhang, Zhang, Li & Qiao, *Joint Face Detection and Alignment Using
Multitask Cascaded Convolutional Networks*, IEEE SPL 2016) in PyTorch, with the published weights.

P-Net proposes face windows on an image pyramid (fully convolutional, 12x12 receptive field),
R-Net re-scores and refines them on 24x24 crops, O-Net on 48x48 crops also gives five landmarks:
the eye on the image's left, the eye on the image's right, the nose tip, the mouth corner on the
image's left, the mouth corner on the image's right.

The weights are not in this repository and never downloaded at run time: they ship inside the
``mtcnn`` package on PyPI (``pip install 'mer-fast[faces]'`` installs ``mtcnn==1.0.0``; its own
dependencies are joblib and lz4 only, TensorFlow is not needed). That package stores each network
as the list of its Keras layer weights (``mtcnn/assets/weights/{pnet,rnet,onet}.lz4``, joblib +
lz4); :func:`load_networks` reads those files and converts them: convolution kernels from Keras
``[kh, kw, in, out]`` to ``[out, in, kh, kw]``, dense kernels transposed, PReLU slopes flattened.
The dense layers of R-Net and O-Net were trained on features flattened in (width, height,
channel) order, which ``_flatten_whc`` reproduces.

Inputs are RGB images scaled as ``(pixel - 127.5) / 128``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path

import torch
from torch import nn

from mer_fast.errors import ConfigError

WEIGHTS_PACKAGE = "mtcnn"
WEIGHTS_VERSION = "1.0.0"  # the release whose files the conversion below was written for
INSTALL_HINT = "pip install 'mer-fast[faces]' (installs the mtcnn package, which ships the weights)"


def _flatten_whc(x: torch.Tensor) -> torch.Tensor:
    """``[N, C, H, W]`` -> ``[N, W * H * C]`` in the order the dense layers were trained on."""
    return x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)


class PNet(nn.Module):
    """Proposal network: ``[N, 3, H, W]`` -> box offsets ``[N, 4, h, w]`` and face
    probabilities ``[N, 2, h, w]`` (one cell per 12x12 window, stride 2)."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 10, 3),
            nn.PReLU(10),
            nn.MaxPool2d(2, 2, ceil_mode=True),
            nn.Conv2d(10, 16, 3),
            nn.PReLU(16),
            nn.Conv2d(16, 32, 3),
            nn.PReLU(32),
        )
        self.offsets = nn.Conv2d(32, 4, 1)
        self.scores = nn.Conv2d(32, 2, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.offsets(h), torch.softmax(self.scores(h), dim=1)


class RNet(nn.Module):
    """Refinement network: ``[N, 3, 24, 24]`` -> offsets ``[N, 4]``, probabilities ``[N, 2]``."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 28, 3),
            nn.PReLU(28),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            nn.Conv2d(28, 48, 3),
            nn.PReLU(48),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(48, 64, 2),
            nn.PReLU(64),
        )
        self.fc = nn.Linear(576, 128)
        self.fc_act = nn.PReLU(128)
        self.offsets = nn.Linear(128, 4)
        self.scores = nn.Linear(128, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.fc_act(self.fc(_flatten_whc(self.body(x))))
        return self.offsets(h), torch.softmax(self.scores(h), dim=1)


class ONet(nn.Module):
    """Output network: ``[N, 3, 48, 48]`` -> offsets ``[N, 4]``, landmarks ``[N, 10]`` (five x
    then five y, as fractions of the window), probabilities ``[N, 2]``."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 32, 3),
            nn.PReLU(32),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            nn.Conv2d(32, 64, 3),
            nn.PReLU(64),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 64, 3),
            nn.PReLU(64),
            nn.MaxPool2d(2, 2, ceil_mode=True),
            nn.Conv2d(64, 128, 2),
            nn.PReLU(128),
        )
        self.fc = nn.Linear(1152, 256)
        self.fc_act = nn.PReLU(256)
        self.offsets = nn.Linear(256, 4)
        self.landmarks = nn.Linear(256, 10)
        self.scores = nn.Linear(256, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.fc_act(self.fc(_flatten_whc(self.body(x))))
        return self.offsets(h), self.landmarks(h), torch.softmax(self.scores(h), dim=1)


def weights_dir() -> Path:
    """The folder of the weight files inside the installed ``mtcnn`` package (found without
    importing it: its ``__init__`` would import TensorFlow)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the face detector's weights are not installed", field="faces", fix=INSTALL_HINT
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "assets" / "weights"
    missing = [n for n in ("pnet", "rnet", "onet") if not (folder / f"{n}.lz4").is_file()]
    if missing:
        raise ConfigError(
            f"the installed mtcnn package has no {missing[0]}.lz4 weights in {folder}",
            field="faces",
            fix=f"pip install --force-reinstall 'mtcnn=={WEIGHTS_VERSION}'",
        )
    return folder


def weights_available() -> bool:
    try:
        weights_dir()
        import joblib  # noqa: F401
        import lz4  # noqa: F401
    except (ConfigError, ImportError):
        return False
    return True


@functools.cache
def weights_digest() -> str:
    """The first 12 hex digits of the SHA-256 of the three weight files (recorded with every
    detection, so a result names the exact weights that made it)."""
    h = hashlib.sha256()
    folder = weights_dir()
    for name in ("pnet", "rnet", "onet"):
        h.update((folder / f"{name}.lz4").read_bytes())
    return h.hexdigest()[:12]


def installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(WEIGHTS_PACKAGE)
    except PackageNotFoundError:
        return "unknown"


def _keras_layers(name: str) -> list:
    try:
        import joblib
    except ImportError:
        raise ConfigError(
            "joblib is not installed (the mtcnn weights are joblib files)",
            field="faces",
            fix=INSTALL_HINT,
        ) from None
    path = weights_dir() / f"{name}.lz4"
    try:
        return list(joblib.load(path))
    except Exception as exc:  # noqa: BLE001 - a missing lz4, a damaged file
        raise ConfigError(
            f"cannot read the MTCNN weights {path}: {exc}",
            field="faces",
            fix=f"pip install --force-reinstall 'mtcnn=={WEIGHTS_VERSION}' lz4",
        ) from None


def _assign(net: nn.Module, arrays: list, name: str) -> None:
    """Copies the Keras layer weights, in layer order, into ``net``'s convolutions, PReLUs and
    dense layers (in module order), checking every shape."""
    targets: list[tuple[str, torch.Tensor]] = []
    for mod in net.modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            assert mod.bias is not None  # every MTCNN layer has a bias
            targets += [("kernel", mod.weight), ("bias", mod.bias)]
        elif isinstance(mod, nn.PReLU):
            targets.append(("alpha", mod.weight))
    if len(arrays) != len(targets):
        raise ConfigError(
            f"the MTCNN weights {name}.lz4 hold {len(arrays)} arrays, the network "
            f"needs {len(targets)}",
            field="faces",
            fix=f"install the release they were written for: "
            f"pip install 'mtcnn=={WEIGHTS_VERSION}'",
        )
    for (kind, param), arr in zip(targets, arrays, strict=True):
        t = torch.as_tensor(arr, dtype=torch.float32)
        if kind == "kernel":
            t = t.permute(3, 2, 0, 1) if t.dim() == 4 else t.t()
        elif kind == "alpha":
            t = t.reshape(-1)
        if tuple(t.shape) != tuple(param.shape):
            raise ConfigError(
                f"the MTCNN weights {name}.lz4 do not fit the network: "
                f"{tuple(arr.shape)} for a {kind} of shape {tuple(param.shape)}",
                field="faces",
                fix=f"pip install 'mtcnn=={WEIGHTS_VERSION}'",
            )
        with torch.no_grad():
            param.copy_(t)


def build_networks() -> tuple[PNet, RNet, ONet]:
    """The three networks with random weights (for tests of the shapes)."""
    return PNet(), RNet(), ONet()


@functools.cache
def _loaded() -> tuple[PNet, RNet, ONet]:
    nets = build_networks()
    for net, name in zip(nets, ("pnet", "rnet", "onet"), strict=True):
        _assign(net, _keras_layers(name), name)
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
    return nets


def load_networks(device: torch.device | str = "cpu") -> tuple[PNet, RNet, ONet]:
    """P-Net, R-Net and O-Net with the published weights, in eval mode, on ``device`` (the CPU
    copies are read once per process)."""
    device = torch.device(device)
    nets = _loaded()
    if device.type == "cpu":
        return nets
    return tuple(_on_device(device))  # type: ignore[return-value]


@functools.cache
def _on_device(device: torch.device) -> tuple[nn.Module, ...]:
    import copy

    return tuple(copy.deepcopy(n).to(device) for n in _loaded())
