"""Inference on new clips with a trained micro-expression model: a clip folder (numbered image
frames, any of the datasets' naming schemes) or a video file -> class probabilities, with
optional Décalcomanie test-time augmentation (logits of the views summed before the softmax).

Faces (``faces="auto"``, the default): when the face detector is installed (``mer-fast[faces]``)
each clip is cropped to its face (found on its first frame, eyes levelled, one transform for
every frame) unless it already is a face (the face fills most of the frame); ``"detect"`` always
crops (a clip without a face is an error), ``"off"`` never does. ``Predictor.face_notes`` says
per clip what was done.

    from mer_fast.inference import predict
    probs = predict("runs/smic/model.pt", "/data/new_clip/", tta="OLR")   # {"negative": ..}
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from mer_fast.data.index import ClipRecord
from mer_fast.errors import ConfigError, DataError

if TYPE_CHECKING:
    from mer_fast.faces.stage import FaceCropper

FACE_MODES = ("auto", "detect", "off")
# a face box at least this share of the frame's width or height: the clip is already a face
ALREADY_FACE = 0.5


def clip_record(path: str | Path) -> ClipRecord:
    """A record for a clip folder (frames sorted by the number in their names) or a video."""
    from mer_fast.data.frames import IMAGE_SUFFIXES, VIDEO_SUFFIXES, list_frames

    path = Path(path)
    if path.is_dir():
        listing = list_frames(path, r".*?(\d+)\.(?:jpe?g|png|bmp|tiff?)")
        if not listing.files:
            raise DataError(
                "no numbered image frames in this folder",
                file=path,
                fix=f"give a folder of frames named with their number "
                f"({', '.join(IMAGE_SUFFIXES)}) or a video file",
            )
        return ClipRecord(
            dataset="input",
            clip_id=path.name,
            subject="",
            label="",
            label_index=0,
            frames=listing.files,
            num_frames=len(listing.files),
            frame_numbers=listing.numbers,
        )
    if path.is_file():
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            raise DataError(
                f"not a video file ({path.suffix})",
                file=path,
                fix=f"give a video ({', '.join(VIDEO_SUFFIXES)}) or a frame folder",
            )
        return ClipRecord(
            dataset="input", clip_id=path.stem, subject="", label="", label_index=0, video=str(path)
        )
    raise DataError("no such file or folder", file=path)


class Predictor:
    """A loaded model, ready for many clips."""

    def __init__(
        self,
        checkpoint: str | Path,
        device: str | torch.device = "cpu",
        faces: str = "auto",
        *,
        trusted: bool = False,
    ):
        from mer_fast.train.network import load_mer_model
        from mer_fast.utils.dist import resolve_device

        if faces not in FACE_MODES:
            raise ConfigError(
                f"--faces must be one of {FACE_MODES}, got {faces!r}", field="--faces"
            )
        self.faces = faces
        self.face_notes: dict[str, str] = {}
        self._cropper: FaceCropper | None = None
        self.device = resolve_device(str(device))  # a clear error for cuda without CUDA
        self.net, self.meta = load_mer_model(checkpoint, self.device, trusted=trusted)
        self.classes: list[str] = self.meta["classes"]

    def views_for(self, tta: str | None) -> str:
        if tta is None:
            return self.meta["eval_views"]
        if self.meta["head"] != "sbml" and tta != self.meta["views"]:
            raise ConfigError(
                f"this model has a fusion head ({self.meta['head']}) trained on "
                f"views {self.meta['views']!r}; it takes exactly those views",
                field="--tta",
                fix=f"drop --tta or use --tta {self.meta['views']}",
            )
        if not tta or any(v not in "OLR" for v in tta) or len(set(tta)) != len(tta):
            raise ConfigError(f"--tta must be an ordered subset of OLR, got {tta!r}", field="--tta")
        return tta

    @torch.no_grad()
    def logits(self, frames: torch.Tensor, tta: str | None = None) -> torch.Tensor:
        """Summed logits ``[classes]`` of one uint8 clip ``[T, H, W, C]`` (an AU model: one
        logit per AU, its views combined by the model's ``au_view_fusion``)."""
        from mer_fast import ops

        conv = self.meta["convention"]
        if frames.shape[-1] == 1:
            frames = frames.expand(*frames.shape[:-1], 3)
        x = ops.clip_views(
            frames[None].to(self.device),
            self.meta["frames"],
            self.meta["size"],
            self.views_for(tta),
            mean=list(conv.mean),
            std=list(conv.std),
        )
        out = self.net(x).float()
        if self.meta["task"] == "au":
            from mer_fast.train.au_trainer import combine_views

            return combine_views(out, self.meta["au_view_fusion"])[0].cpu()
        return out.sum(0)[0].cpu()

    def __call__(self, path: str | Path, tta: str | None = None) -> dict[str, float]:
        """Class probabilities of one clip (an AU model: each AU's own probability)."""
        frames, note = self.frames(path)
        self.face_notes[str(path)] = note
        logits = self.logits(frames, tta)
        probs = torch.sigmoid(logits) if self.meta["task"] == "au" else torch.softmax(logits, 0)
        return {c: float(p) for c, p in zip(self.classes, probs, strict=True)}

    def _face_cropper(self):
        if self.faces == "off":
            return None
        from mer_fast.faces import FaceCropper, detector_available
        from mer_fast.faces.mtcnn import weights_dir

        if not detector_available():
            if self.faces == "detect":
                weights_dir()  # the error with the install command
            return None
        if self._cropper is None:
            self._cropper = FaceCropper(None, device=self.device)
        self._cropper.located.clear()  # inputs are not dataset clips: keys may repeat
        return self._cropper

    def frames(self, path: str | Path) -> tuple[torch.Tensor, str]:
        """The clip's uint8 frames (cropped to the face as ``faces`` says), and a note on what
        was done. At their native size, or the face cropper's, as training stores clips
        (``decode_size=auto``): the op then mirrors the half-faces at that width and resizes
        to the model's size."""
        from mer_fast.data.decode import decode_clip

        record = clip_record(path)
        cropper = self._face_cropper()
        if cropper is None:
            why = (
                "--faces off"
                if self.faces == "off"
                else "the face detector is not installed: pip install 'mer-fast[faces]'"
            )
            return decode_clip(record, size=None, channels=3), f"not cropped ({why})"
        frames = decode_clip(record, None, channels=3)
        face = cropper.locate(record, frames)
        if not face.found:
            if self.faces == "detect":
                raise DataError(
                    f"no face found in the clip ({face.how})",
                    file=path,
                    field="--faces",
                    fix="pass --faces off to use whole frames",
                )
            return frames, f"not cropped: no face found ({face.how})"
        fh, fw = frames.shape[1:3]
        box = face.face
        assert box is not None
        if self.faces == "auto" and (
            box.width >= ALREADY_FACE * fw or box.height >= ALREADY_FACE * fh
        ):
            return frames, "not cropped: already a face"
        return (
            cropper.crop(record, frames, cropper.default_size),
            f"cropped to the face ({face.status}: {face.how})",
        )


def predict(
    checkpoint: str | Path,
    path: str | Path,
    tta: str | None = None,
    device: str = "cpu",
    faces: str = "auto",
) -> dict[str, Any]:
    """Class probabilities of one clip folder or video (see :class:`Predictor` for many)."""
    return Predictor(checkpoint, device, faces)(path, tta)
