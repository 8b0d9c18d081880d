import numpy as np
import onnx
from onnx import TensorProto, helper

from first_line.onnx_session import cpu_session

HIDDEN = 8
SCALE, BIAS = np.random.default_rng(0).normal(size=(2, HIDDEN)).astype(np.float32)


def _residual_layer_norm() -> bytes:
    """y = LayerNorm(x + residual) * SCALE + BIAS, which onnxruntime fuses into SkipLayerNormalization."""
    graph = helper.make_graph(
        [
            helper.make_node("Add", ["x", "residual"], ["sum"]),
            helper.make_node("LayerNormalization", ["sum", "scale", "bias"], ["y"], axis=-1, epsilon=1e-12),
        ],
        "residual_layer_norm",
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, "tokens", HIDDEN])
            for name in ("x", "residual")
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, "tokens", HIDDEN])],
        initializer=[
            helper.make_tensor(n, TensorProto.FLOAT, [HIDDEN], v)
            for n, v in (("scale", SCALE), ("bias", BIAS))
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_a_residual_layer_norm_runs_as_add_and_layer_norm_not_the_slower_fused_kernel(tmp_path):
    saved = tmp_path / "optimised.onnx"
    session = cpu_session(_residual_layer_norm(), save_optimized=saved)
    operators = {node.op_type for node in onnx.load(saved).graph.node}
    assert "SkipLayerNormalization" not in operators
    assert {"Add", "LayerNormalization"} <= operators
    fused = tmp_path / "fused.onnx"
    cpu_session(_residual_layer_norm(), save_optimized=fused, disabled=[])
    assert {node.op_type for node in onnx.load(fused).graph.node} == {
        "SkipLayerNormalization"
    }  # the pattern fuses

    x, residual = np.random.default_rng(1).normal(size=(2, 1, 5, HIDDEN)).astype(np.float32)
    (y,) = session.run(None, {"x": x, "residual": residual})
    total = x + residual
    normalised = (total - total.mean(-1, keepdims=True)) / np.sqrt(total.var(-1, keepdims=True) + 1e-12)
    np.testing.assert_allclose(y, normalised * SCALE + BIAS, rtol=1e-4, atol=1e-5)
