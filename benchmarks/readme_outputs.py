"""Regenerate the outputs the README shows: run the commands of every marked block, write what they print.

    python benchmarks/readme_outputs.py            # all marked blocks (tens of minutes: real trainings)
    python benchmarks/readme_outputs.py --list     # the marked blocks and their commands
    python benchmarks/readme_outputs.py --only 3 5 # those blocks (numbers as --list gives them)

The markers are described in ``xagents/tests/readme_blocks.py``. Every command runs in one temporary
folder, in the README's order (a later block may play or export an earlier block's run), as a user
types it, with ``myenvs.py`` (the README's env module) written there first. What varies from run to
run (times, speeds, rewards, run folders, drawn seeds) is what this run printed;
``xagents/tests/test_readme_outputs.py`` checks the rest.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xagents.tests.readme_blocks import README, Shown, excerpt, sh_commands, shown_blocks  # noqa: E402


def run(command: str, folder: Path, shown: bool = True) -> list[str]:
    """What ``command`` prints (stdout and stderr, as a terminal would show them one after the other)."""
    started = time.monotonic()
    result = subprocess.run(
        command, shell=True, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
    )
    print(f'  {time.monotonic() - started:6.1f} s  exit {result.returncode}  {command[:100]}', flush=True)
    lines = result.stdout.rstrip('\n').split('\n') if result.stdout.strip() else []
    return lines if shown else []


def regenerate(block: Shown, folder: Path) -> list[str]:
    """The new lines of ``block``."""
    shorten = excerpt if block.excerpt else list
    if block.source == 'python':
        (folder / 'snippet.py').write_text(block.above)
        return shorten(run(f'{sys.executable} snippet.py', folder))
    if block.source == 'sh':
        *before, last = sh_commands(block.above)
        for command in before:
            run(command, folder, shown=False)
        return shorten(run(last, folder))
    if block.command is not None:
        return shorten(run(block.command, folder))
    lines = []
    for command, _ in block.commands():
        lines += [f'$ {command}', *shorten(run(command, folder))]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--list', action='store_true', help='list the marked blocks and their commands')
    parser.add_argument('--only', type=int, nargs='+', help='regenerate these blocks only (numbers from --list)')
    args = parser.parse_args()
    text = README.read_text()
    blocks = shown_blocks(text)
    if args.list:
        for number, block in enumerate(blocks):
            commands = [command for command, _ in block.commands()] if not block.source else [f'{block.source} above']
            print(f'{number}: README line {block.start}: {"; ".join(c[:80] for c in commands)}')
        return
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix='readme-outputs-') as name:
        folder = Path(name)
        module = next(b for b in re.findall(r'```python\n(.*?)```', text, re.S) if "gym.register('Corridor-v0'" in b)
        (folder / 'myenvs.py').write_text(module)
        (folder / 'img').mkdir()  # where the README's plot command writes
        new = {}
        for number, block in enumerate(blocks):  # in the README's order: a block may use an earlier one's run
            if args.only and number not in args.only:
                continue
            print(f'block {number} (README line {block.start})', flush=True)
            new[number] = regenerate(block, folder)
    # The README as it is now (edited meanwhile outside the blocks), its blocks replaced from the last up.
    lines = README.read_text().split('\n')
    blocks = shown_blocks('\n'.join(lines))
    for number in sorted(new, reverse=True):
        lines[blocks[number].start : blocks[number].end] = new[number]
    README.write_text('\n'.join(lines))
    print(f'{len(new)} block(s) regenerated in {time.monotonic() - started:.0f} s')


if __name__ == '__main__':
    main()
