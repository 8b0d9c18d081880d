"""Building a network without random initial weights: only inside the context, only in its thread."""

from __future__ import annotations

import threading

import torch

from first_line.skip_weight_init import skipping_random_init


def test_inside_the_tensor_is_left_as_it_is_and_outside_it_is_drawn():
    with skipping_random_init():
        assert torch.equal(torch.nn.init.uniform_(torch.zeros(8)), torch.zeros(8))
        assert torch.equal(torch.nn.init.kaiming_uniform_(torch.zeros(4, 4)), torch.zeros(4, 4))
        with skipping_random_init():  # nested: still skipping after the inner block
            pass
        assert torch.equal(torch.nn.init.normal_(torch.zeros(8)), torch.zeros(8))
    drawn = torch.nn.init.uniform_(torch.zeros(1000), -1.0, 1.0)
    assert drawn.abs().max() <= 1.0 and drawn.std() > 0.3


def test_another_thread_still_gets_random_weights():
    inside, done = threading.Event(), threading.Event()

    def hold_the_context_open() -> None:
        with skipping_random_init():
            inside.set()
            done.wait(timeout=30)

    holder = threading.Thread(target=hold_the_context_open)
    holder.start()
    try:
        assert inside.wait(timeout=30)
        layer = torch.nn.Linear(64, 64)  # reset_parameters: kaiming_uniform_ and uniform_
        assert layer.weight.std() > 0.01 and layer.bias.abs().sum() > 0
    finally:
        done.set()
        holder.join()


def test_a_loaded_network_reads_the_same_as_one_built_with_random_weights(tmp_path):
    torch.manual_seed(0)
    saved = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU())
    torch.save(saved.state_dict(), tmp_path / "weights.pt")
    with skipping_random_init():
        loaded = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU())
        loaded.load_state_dict(torch.load(tmp_path / "weights.pt"))  # strict: every parameter
    pixels = torch.rand(1, 3, 8, 8)
    assert torch.equal(saved.eval()(pixels), loaded.eval()(pixels))
