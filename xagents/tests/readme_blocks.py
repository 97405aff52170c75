"""The README's shown outputs: the blocks marked to be regenerated and what their markers say.

A marker is an HTML comment on the line before a plain ``` block (GitHub does not show it):

- ``<!-- output -->``: the block's ``$ command`` lines are the commands; the lines after each are its output.
- ``<!-- output: $ COMMAND -->``: the whole block is what COMMAND prints.
- ``<!-- output: sh above -->``: the block is what the last command of the ```sh block above prints (the
  commands before it run first, unshown).
- ``<!-- output: python above -->``: the block is what the ```python block above prints.

``excerpt`` before the colon's rest (``<!-- output: excerpt -->``, ``<!-- output: excerpt $ COMMAND -->``)
shortens each output: of the progress lines (``time ...`` with their indented continuation lines) and of
play's episode lines, the first and the last stay, ``...`` between.
``benchmarks/readme_outputs.py`` regenerates the blocks; ``test_readme_outputs.py`` checks their stable parts.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

README = Path(__file__).parents[2] / 'README.md'
MARKER = re.compile(r'<!-- output(?::\s*(?P<spec>.*?))?\s*-->$')


@dataclasses.dataclass
class Shown:
    """One marked block: where its lines are in the README, what its marker says, the lines it shows."""

    start: int  # index of the first line inside the fence
    end: int  # index of the closing fence
    excerpt: bool
    command: str | None  # the marker's command
    source: str | None  # 'sh' or 'python': the block above is run
    above: str | None  # that block's text
    lines: list[str]

    def commands(self) -> list[tuple[str, list[str]]]:
        """The ``$ command`` lines of the block with the lines shown after each (the marker's command with
        the whole block when it names one)."""
        if self.command is not None:
            return [(self.command, self.lines)]
        pairs = []
        for line in self.lines:
            if line.startswith('$ '):
                pairs.append((line[2:], []))
            elif pairs:
                pairs[-1][1].append(line)
        return pairs


def shown_blocks(text: str) -> list[Shown]:
    """Every marked block of the README ``text``, in order."""
    lines = text.split('\n')
    blocks = []
    for index, line in enumerate(lines):
        match = MARKER.match(line.strip())
        if not match:
            continue
        if lines[index + 1] != '```':
            raise ValueError(f'README line {index + 1}: an output marker must come just before a plain ``` block')
        end = lines.index('```', index + 2)
        spec = match['spec'] or ''
        excerpt = spec.startswith('excerpt')
        spec = spec.removeprefix('excerpt').strip().removeprefix(',').strip()
        command = spec[2:] if spec.startswith('$ ') else None
        source = spec.split()[0] if spec.endswith(' above') else None
        above = block_above(lines, index, source) if source else None
        blocks.append(Shown(index + 2, end, excerpt, command, source, above, lines[index + 2 : end]))
    return blocks


def block_above(lines: list[str], index: int, language: str) -> str:
    """The text of the nearest ```language block before line ``index``."""
    opening = max(i for i in range(index) if lines[i] == f'```{language}')
    closing = lines.index('```', opening + 1)
    return '\n'.join(lines[opening + 1 : closing]) + '\n'


def sh_commands(script: str) -> list[str]:
    """The commands of a ```sh block: continued lines joined, comments dropped, a ``for`` loop kept whole."""
    commands, current, depth = [], '', 0
    for line in script.replace('\\\n', ' ').split('\n'):
        line = re.sub(r'\s+#.*$', '', line).strip()
        if not line or line.startswith('#'):
            continue
        current = f'{current}\n{line}' if current else line
        depth += line.startswith(('for ', 'while ', 'if ')) - (line in ('done', 'fi'))
        if depth == 0:
            commands.append(' '.join(current.split()) if '\n' not in current else current)
            current = ''
    return commands


PROGRESS = re.compile(r'time \d+:\d\d:\d\d \| steps ')


def excerpt(lines: list[str]) -> list[str]:
    """``lines`` with their progress records and episode lines cut to the first and the last, ``...`` between."""
    records: list[list[str]] = []
    for line in lines:
        if line.startswith('  ') and records and PROGRESS.match(records[-1][0]):
            records[-1].append(line)
        else:
            records.append([line])
    kinds = [kind(record[0]) for record in records]
    kept = []
    for index, record in enumerate(records):
        same = kinds[index] is not None and kinds[index] in kinds[:index] and kinds[index] in kinds[index + 1 :]
        if not same:
            kept.extend(record)
        elif kept[-1] != '...':
            kept.append('...')
    return kept


def kind(line: str) -> str | None:
    """What a repeated line is: a progress record or a played episode (None: a line of its own)."""
    if PROGRESS.match(line):
        return 'progress'
    if re.match(r'episode \d+', line):
        return 'episode'
    return None
