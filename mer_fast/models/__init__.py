"""Backbones compatible with the checkpoints people already have.

The 3D-ResNets and 3D-ResNeXt-101 of Hara, Kataoka and Satoh (kenshohara/3D-ResNets-PyTorch),
with the original parameter names, so the published Kinetics files load unchanged::

    from mer_fast import models, ops
    net = models.create_model("rx3d101", num_classes=3)            # SMIC: 3 classes
    report = models.load_checkpoint(net, "resnext-101-kinetics.pth")  # head re-created
    x = ops.clip_views(frames, t_out=34, size=112, **net.input_convention.clip_kwargs())
    logits = net(x[0])                                               # view O: [N, 3]

- :func:`create_model`, :func:`list_models`: the registry (``r3d10`` ... ``r3d200``, ``rx3d101``)
- :func:`load_checkpoint`, :func:`save_checkpoint`, :class:`LoadReport`: checkpoints
  (:mod:`~mer_fast.models.checkpoint`; files read by :mod:`~mer_fast.models.checkpoint_file`,
  state dicts fitted to the model by :mod:`~mer_fast.models.state_dict_fit`)
- :func:`load_imagenet_2d`: ImageNet 2D ResNet -> 3D by inflation
- :class:`InputConvention`, :func:`convention_of`: the input normalisation weights expect
"""

from mer_fast.models import resnet3d, resnext3d  # noqa: F401  (register the models)
from mer_fast.models.checkpoint import LoadReport, load_checkpoint, save_checkpoint
from mer_fast.models.checkpoint_file import read_checkpoint
from mer_fast.models.conventions import (
    CONVENTIONS,
    HARA_2018,
    HARA_2020,
    IMAGENET,
    InputConvention,
    get_convention,
)
from mer_fast.models.inflate import inflate_state_dict, load_imagenet_2d
from mer_fast.models.registry import (
    convention_of,
    count_parameters,
    create_model,
    list_models,
    model_spec,
)
from mer_fast.models.state_dict_fit import identify, unwrap_model

__all__ = [
    "CONVENTIONS",
    "HARA_2018",
    "HARA_2020",
    "IMAGENET",
    "InputConvention",
    "LoadReport",
    "convention_of",
    "count_parameters",
    "create_model",
    "get_convention",
    "identify",
    "inflate_state_dict",
    "list_models",
    "load_checkpoint",
    "load_imagenet_2d",
    "model_spec",
    "read_checkpoint",
    "save_checkpoint",
    "unwrap_model",
]
