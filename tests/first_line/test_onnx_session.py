import numpy as np
import onnx
from onnx import TensorProto, helper

from first_line.onnx_session import cpu_session

HIDDEN = 8


def _residual_layer_norm() -> bytes:
    """y = LayerNorm(x + residual): the pattern onnxruntime fuses into SkipLayerNormalization."""
    rng = np.random.default_rng(0)
    scale = helper.make_tensor(
        "scale", TensorProto.FLOAT, [HIDDEN], rng.normal(size=HIDDEN).astype(np.float32)
    )
    bias = helper.make_tensor("bias", TensorProto.FLOAT, [HIDDEN], rng.normal(size=HIDDEN).astype(np.float32))
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
        initializer=[scale, bias],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_a_residual_layer_norm_runs_as_add_and_layer_norm_not_the_slower_fused_kernel(tmp_path):
    saved = tmp_path / "optimised.onnx"
    session = cpu_session(_residual_layer_norm(), save_optimized=saved)
    operators = {node.op_type for node in onnx.load(saved).graph.node}
    assert "SkipLayerNormalization" not in operators
    assert {"Add", "LayerNormalization"} <= operators

    x, residual = np.random.default_rng(1).normal(size=(2, 1, 5, HIDDEN)).astype(np.float32)
    (y,) = session.run(None, {"x": x, "residual": residual})
    total = x + residual
    normalised = (total - total.mean(-1, keepdims=True)) / np.sqrt(total.var(-1, keepdims=True) + 1e-12)
    scale, bias = (
        onnx.numpy_helper.to_array(t) for t in onnx.load_from_string(_residual_layer_norm()).graph.initializer
    )
    np.testing.assert_allclose(y, normalised * scale + bias, rtol=1e-4, atol=1e-5)
