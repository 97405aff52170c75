"""The README's shown outputs (the blocks marked ``<!-- output ... -->``, see ``readme_blocks.py``; written by
``benchmarks/readme_outputs.py``) agree with the code in what does not vary from run to run.

Checked, for every marked block, in-process and without training (the agents' ``fit`` replaced):

- each command shown with a one-line ``xagents: error: ...`` prints exactly that line and exits 2;
- each ``xagents train`` command prints the preset line the block shows (``Using the ... preset of ...``), or
  none where the block shows none, and its flags parse; it is run with ``from_env`` replaced as well;
- the flags of the other ``xagents`` commands shown (play, export, plot, tune) are in their help tables;
- messages with a fixed form have the code's form: ``Run directory:``, ``Seed N drawn ...``, the reasons
  training stops (``Reward achieved in N steps``, ``Maximum steps exceeded``), progress lines (with the share
  done and the ETA when the command has a budget: its ``--max-steps`` or its preset's), play's mean line,
  export's line and tune's preset line.

Not checked: what varies (times, speeds, rewards, steps reached, drawn seeds, run-folder names), the order
and number of progress lines, play, export and plot outputs beyond those lines, and commands that need a run
folder an earlier block trained (``--run``, ``--resume``, ``plot runs/...``): they are not re-run.
"""

import re
import shlex
from pathlib import Path

import pytest

from xagents import AGENTS, agents
from xagents.commands.main import main
from xagents.tests.readme_blocks import README, sh_commands, shown_blocks
from xagents.train.trainer import MESSAGES

BLOCKS = shown_blocks(README.read_text())
ERROR = 'xagents: error: '


def shown_commands() -> list[tuple[str, list[str]]]:
    """Every ``xagents`` command of the marked blocks with the lines shown as its output."""
    pairs = []
    for block in BLOCKS:
        if block.source == 'sh':
            *before, last = sh_commands(block.above)
            pairs += [(command, []) for command in before if command.startswith('xagents ')]
            pairs.append((last, block.lines))
        elif block.source is None:
            pairs += block.commands()
    return [(command, lines) for command, lines in pairs if command.startswith('xagents ')]


COMMANDS = shown_commands()
# Commands shown with their one-line error (after the preset line, when a preset is used).
ERRORS = [
    (command, lines)
    for command, lines in COMMANDS
    if lines and lines[-1].startswith(ERROR) and all(' preset of ' in line for line in lines[:-1])
]
FAILING = {command for command, _ in ERRORS}
NEEDS_A_RUN = ('--run', '--resume', 'runs/')
# Training commands shown, and those an output suggests (xagents tune's "Train with them").
TRAINING = [
    (command, lines)
    for command, lines in COMMANDS
    + [(line.strip(), []) for b in BLOCKS for line in b.lines if line.startswith('  xagents train ')]
    if command.startswith('xagents train ')
    and command not in FAILING
    and not any(word in command for word in NEEDS_A_RUN)
]


class NoTraining:
    """Stands for an agent: ``from_env`` keeps what it was given, ``fit`` keeps its budget."""

    budget = None

    @classmethod
    def from_env(cls, env, **kwargs):
        return cls()

    def fit(self, target_reward=None, max_steps=None, **kwargs):
        NoTraining.budget = max_steps
        return 'max_steps'


@pytest.fixture
def no_training(monkeypatch, tmp_path):
    """Commands run in ``tmp_path`` with the README's env module there, and no agent trains."""
    monkeypatch.chdir(tmp_path)
    module = next(b for b in re.findall(r'```python\n(.*?)```', README.read_text(), re.S) if 'Corridor-v0' in b)
    (tmp_path / 'myenvs.py').write_text(module)
    monkeypatch.syspath_prepend(str(tmp_path))

    def trains(*args, **kwargs):
        raise AssertionError('a README command shown with an error trained')

    for agent_class in map(agents.__getitem__, AGENTS):  # the registry imports each on first use
        monkeypatch.setattr(agent_class, 'fit', trains)
    yield monkeypatch


def argv(command: str) -> list[str]:
    return shlex.split(command.replace('$seed', '0'))[1:]


@pytest.mark.parametrize('command, lines', ERRORS, ids=[command[:60] for command, _ in ERRORS])
def test_a_shown_error_is_what_the_command_prints(no_training, capsys, command, lines):
    with pytest.raises(SystemExit) as exit_info:
        main(argv(command))
    assert exit_info.value.code == 2
    printed = capsys.readouterr()
    assert printed.err.strip() == lines[-1]
    assert [line for line in printed.out.splitlines() if ' preset of ' in line] == lines[:-1]


def test_the_shown_training_commands_print_the_shown_preset_line(no_training, capsys):
    for agent_class in map(agents.__getitem__, AGENTS):  # the registry imports each on first use
        no_training.setattr(agent_class, 'from_env', NoTraining.from_env)
    assert TRAINING
    for command, lines in TRAINING:
        NoTraining.budget = None
        assert main(argv(command)) == 0, command
        printed = [line for line in capsys.readouterr().out.splitlines() if ' preset of ' in line]
        shown = [line for line in lines if line.startswith('Using the ') and ' preset of ' in line]
        assert shown == printed or not lines, f'{command}\nshown:   {shown}\nprinted: {printed}'
        progress = [line for line in lines if line.startswith('time ')]
        if NoTraining.budget is not None:  # progress lines show the share done, and the ETA after the first
            assert all(re.search(r' \| steps [\d,]+ \(\d+%', line) for line in progress), command
            assert all(', ETA ' in line or '(100%)' in line for line in progress[1:]), command


OTHERS = [command for command, _ in COMMANDS if not command.startswith('xagents train ') and command not in FAILING]


@pytest.mark.parametrize('command', OTHERS, ids=[command[:60] for command in OTHERS])
def test_the_flags_of_the_other_shown_commands_exist(capsys, command):
    from xagents.commands.agent_flags import agent_module
    from xagents.commands.main import command_parser
    from xagents.commands.tune import tune_parser

    words = argv(command)
    if words[0] in ('play', 'tune'):  # their parsers take the flags (a run folder is not needed to parse)
        agent = words[1] if not words[1].startswith('-') else 'ppo'
        rest = words[2:] if agent == words[1] else words[1:]
        rest += [] if '--env' in rest else ['--env', 'CartPole-v1']
        parser = command_parser('play', agent_module(agent)) if words[0] == 'play' else tune_parser(agent_module(agent))
        parser.parse_args(rest)
        return
    try:
        main([words[0], '--help'])
    except SystemExit:
        pass
    table = capsys.readouterr().out
    for flag in (word for word in words if word.startswith('--')):
        assert re.search(rf'{re.escape(flag)}\b', table), f'{command}: {flag} is not in the help of {words[0]}'


def template(text: str) -> str:
    """A regular expression for lines of the code's format ``text`` (its ``{...}`` fields: numbers or words)."""
    return re.sub(r'\\\{\w+\\\}', r'\\S+', re.escape(text)) + '$'


FIRST_UPDATE = r'first update [\d.]+ s \(compiling; speeds count from here\)'
SPEED = rf'speed [\d,]+ steps/s|{FIRST_UPDATE}'
FIXED = {
    'Run directory: ': r'Run directory: \S+$',
    'Seed ': r'Seed (\d+) drawn \(no seed given\): --seed \1 repeats this run$',
    'Reward achieved in ': template(MESSAGES['target']),
    'Maximum steps': template(MESSAGES['max_steps']),
    'time ': r'time \d+:\d\d:\d\d \| steps [\d,]+( \(\d+%(, ETA \w+)?\))? \| games [\d,]+'
    rf'( \| ({SPEED})( \| .*)?)?$',
    '  first update ': rf'  {FIRST_UPDATE}( \| .*)?$',
    'mean reward ': r'mean reward -?[\d.]+ ± [\d.]+ over \d+ episode\(s\), mean length [\d.]+ steps$',
    'Exported the ': r'Exported the (best|latest|step \d+) \w+ policy of \S+ \(\S+\) to \S+ \(\w+, [\d,]+ KiB\)$',
    'Using the ': r'Using the \S+ preset of \w+( \(--no-presets to ignore\))?: \w+=|'
    r'Using the \S+ preset of \w+ for the flags not given \(--no-presets to ignore\)$',
}


def test_the_fixed_messages_shown_have_the_code_form():
    assert (
        'for the flags not given (--no-presets to ignore)'
        in (Path(main.__code__.co_filename).parent / 'tune.py').read_text()
    )
    for block in BLOCKS:
        for line in block.lines:
            for start, pattern in FIXED.items():
                if line.startswith(start) and not (start == 'Seed ' and 'drawn' not in line):
                    assert re.match(pattern, line), f'README line {block.start}: {line}'
