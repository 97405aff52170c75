from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
lines = (here / 'requirements.txt').read_text().splitlines()
requirements = [line for line in lines if line and not line.startswith('#')]
# ONNX export (SavedModel and TFLite export need only TensorFlow); onnxruntime runs an ONNX model and
# LiteRT (ai-edge-litert, tf.lite.Interpreter's successor) a TFLite one, neither with TensorFlow.
export = ['tf2onnx>=1.17.0,<2', 'onnx>=1.23.2,<2', 'onnxruntime>=1.32.0,<2', 'ai-edge-litert>=2.3.0,<3']

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
        'export': export,
        # minigrid: a real env package with Dict observations (an image, a direction, a text mission).
        'test': ['pytest>=9.2.0,<10', 'ruff>=0.17.5,<0.18', 'minigrid>=3.2.0,<4', *export],
        # torch pinned: that version's CPU build is what these machines get (an unpinned one pulls CUDA).
        'bench': ['torch==2.13.0', 'stable-baselines3>=2.9.2,<3', 'sb3-contrib>=2.9.2,<3', 'cpprb>=11.0.0,<12'],
    },
    entry_points={'console_scripts': ['xagents=xagents.commands.main:main']},
)
