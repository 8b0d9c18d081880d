"""Set-up check: can this machine's llama.cpp build generate a few tokens with the embedded model?

Run as its own process by `scripts/setup.sh`: a llama.cpp built for the CPU's newest instructions (AMX
tiles on Sapphire Rapids) can crash with a segmentation fault on the first token inside a virtual
machine that does not hand those tiles to the process. The exit status tells set-up to rebuild it for
portable x86-64. Exit 0: it generated; anything else: it did not.
"""

from __future__ import annotations

import sys

from second_line.llm_backends import default_gguf_path


def main() -> int:
    try:
        path = default_gguf_path()
    except FileNotFoundError as exc:
        print(f"check_llama: {exc}", file=sys.stderr)
        return 2
    from llama_cpp import Llama

    model = Llama(model_path=str(path), n_ctx=256, n_threads=1, verbose=False)
    out = model.create_completion("The bank card", max_tokens=4, temperature=0.0)
    print(f"check_llama: generated {out['usage']['completion_tokens']} tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
