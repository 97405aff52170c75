import runpy
from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
lines = (here / 'requirements.txt').read_text().splitlines()
requirements = [line for line in lines if line and not line.startswith('#')]
# The extras of a task (atari, box2d, mujoco, tune, wandb, export), from the file whose errors name them.
extras = runpy.run_path(str(here / 'xagents' / 'extras.py'))['EXTRAS']
everything = sorted({requirement for packages in extras.values() for requirement in packages})

setup(
    name='xagents',
    version='0.2.0',
    description='TensorFlow 2 deep reinforcement learning agents with a command line',
    long_description=(here / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    license='MIT',
    packages=find_packages(exclude=['benchmarks']),
    package_data={'xagents': ['*/models/*.cfg']},
    python_requires='>=3.11',
    install_requires=requirements,
    extras_require={
        **extras,
        'all': everything,
        # minigrid: a real env package with Dict observations (an image, a direction, a text mission);
        # opencv: a test compares ale-py's Atari frames with OpenCV's gray resize.
        'test': [
            *everything,
            'pytest>=9.2.0,<10',
            'ruff>=0.17.5,<0.18',
            'minigrid>=3.2.0,<4',
            'opencv-python-headless>=5.0.0.93,<6',
        ],
        # torch pinned: that version's CPU build is what these machines get (an unpinned one pulls CUDA).
        'bench': [
            'torch==2.13.0',
            'stable-baselines3>=2.9.2,<3',
            'sb3-contrib>=2.9.2,<3',
            'cpprb>=11.0.0,<12',
            'sbx-rl>=0.28.0,<1',
        ],
    },
    entry_points={'console_scripts': ['xagents=xagents.commands.main:main']},
)
