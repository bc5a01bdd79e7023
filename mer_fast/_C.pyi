"""Type stub of the compiled extension ``mer_fast._C`` (csrc/): the ops it registers are reached
through ``torch.ops.mer_fast``; Python calls it directly only for the build information."""

def build_info() -> dict[str, object]: ...
