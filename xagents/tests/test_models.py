from pathlib import Path

import numpy as np
import pytest

import xagents
from xagents.nets.reader import ModelConfigError, ModelReader

SHIPPED = sorted(Path(xagents.__file__).parent.glob('*/models/*.cfg'))


@pytest.mark.parametrize('path', SHIPPED, ids=lambda path: f'{path.parent.parent.name}/{path.name}')
def test_every_shipped_cfg_builds(path):
    # The small CNN is for images below 36x36 (at 84x84 its dense layer's orthogonal start takes ~4 s).
    image, small = path.name.startswith('cnn'), path.name.startswith('cnn-small')
    shape, dtype = (((12, 12, 4) if small else (84, 84, 4)), 'uint8') if image else ((8,), 'float32')
    reader = ModelReader(path, [3, 1, 1][: sum(1 for _ in _output_sections(path))], shape, input_dtype=dtype, seed=0)
    model = reader.build_model()
    outputs = model(np.zeros((2, *shape), dtype))
    outputs = outputs if isinstance(outputs, list) else [outputs]
    assert [tuple(output.shape) for output in outputs] == [(2, units) for units in reader.output_units]


def _output_sections(path):
    return [line for line in path.read_text().splitlines() if line.strip() == 'output=1']


def test_common_trunk_is_shared(tmp_path):
    cfg = tmp_path / 'm.cfg'
    cfg.write_text('[dense-0]\nunits=5\ncommon=1\n\n[dense-1]\noutput=1\n\n[dense-2]\noutput=1\n')
    model = ModelReader(cfg, [2, 1], 3).build_model()
    assert [layer.output.shape[-1] for layer in model.layers[1:]] == [5, 2, 1]
    assert model.layers[2].input is model.layers[3].input


def test_separate_heads_start_from_input(tmp_path):
    cfg = tmp_path / 'm.cfg'
    cfg.write_text('[dense-0]\nunits=4\n\n[dense-1]\noutput=1\n\n[dense-2]\nunits=6\n\n[dense-3]\noutput=1\n')
    model = ModelReader(cfg, [2, 1], 3).build_model()
    assert len(model.trainable_variables) == 8
    critic_hidden = next(layer for layer in model.layers if getattr(layer, 'units', None) == 6)
    assert critic_hidden.input.shape[-1] == 3  # the critic's first layer reads the input


def test_orthogonal_gain(tmp_path):
    cfg = tmp_path / 'm.cfg'
    cfg.write_text('[dense-0]\ninitializer=orthogonal\ngain=2.0\noutput=1\n')
    kernel = ModelReader(cfg, [6], 6, seed=1).build_model().layers[1].kernel.numpy()
    np.testing.assert_allclose(kernel.T @ kernel, 4 * np.eye(6), atol=1e-5)


@pytest.mark.parametrize(
    'text, message',
    [
        ('[pooling-0]\nsize=2\n', 'unknown section'),
        ('[dense-0]\nactivation=relu\n', 'missing units'),
        ('[dense-0]\nunits=4\nactivation=magic\n', 'unknown activation'),
        ('[dense-0]\nunits=4\ninitializer=nope\n', 'unknown initializer'),
        ('[dense-0]\nunits=four\n', 'must be an integer'),
        ('[dense-0]\nunits=4\ncolour=red\n', 'unknown option'),
        ('[dense-0]\noutput=1\n', '1 output layer'),
        ('not a cfg', 'dense-0'),
    ],
)
def test_malformed_cfg_errors(tmp_path, text, message):
    cfg = tmp_path / 'bad.cfg'
    cfg.write_text(text)
    with pytest.raises(ModelConfigError) as error:
        ModelReader(cfg, [2, 1], 3).build_model()
    assert message in str(error.value) or 'File contains no section headers' in str(error.value)


def test_missing_cfg_file():
    with pytest.raises(ModelConfigError, match='not found'):
        ModelReader('nowhere.cfg', [1], 3)
