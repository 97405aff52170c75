"""Exported policies (SavedModel, ONNX, TFLite) act exactly as ``predict`` on the env's own observations."""

import numpy as np
import pytest
import tensorflow as tf

import xagents
from xagents.export.formats import FORMATS, export

CORRIDOR = 'xagents.tests.tiny_envs:Corridor-v0'
POINTER, GRAY = 'xagents.tests.tiny_envs:Pointer-v0', 'xagents.tests.tiny_envs:GrayPointer-v0'  # uint8 images
# (agent, env, env kwargs, preprocess): every agent, discrete and continuous where it takes both, and a CNN.
CASES = [
    ('a2c', CORRIDOR, {}, False),
    ('a2c', CORRIDOR, {'continuous': True}, False),
    ('acer', CORRIDOR, {}, False),
    ('ddpg', CORRIDOR, {'continuous': True}, False),
    ('dqn', CORRIDOR, {}, False),
    ('ppo', CORRIDOR, {}, False),
    ('ppo', CORRIDOR, {'continuous': True}, False),
    ('sac', CORRIDOR, {'continuous': True}, False),
    ('td3', CORRIDOR, {'continuous': True}, False),
    ('trpo', CORRIDOR, {}, False),
    ('trpo', CORRIDOR, {'continuous': True}, False),
    ('ppo', 'PongNoFrameskip-v4', {}, True),
    # images through the CNNs of off-policy actors (~4 s each; ONNX of TD3's in test_image_envs.py)
    pytest.param('sac', GRAY, {'continuous': True}, False, marks=pytest.mark.integration),
    pytest.param('td3', POINTER, {'continuous': True}, False, marks=pytest.mark.integration),
]


def env_observations(agent, count: int) -> np.ndarray:
    """``count`` raw observations from the agent's own envs under random actions."""
    envs = agent.env_recipe.make(4)
    observations, _ = envs.reset(seed=0)
    envs.action_space.seed(0)  # the same observations every run: a near tie between actions cannot come and go
    collected = [observations]
    while sum(map(len, collected)) < count:
        observations, *_ = envs.step(envs.action_space.sample())
        collected.append(observations)
    envs.close()
    return np.concatenate(collected)[:count]


def near_ties(agent, observations: np.ndarray, margin: float = 1e-4) -> np.ndarray:
    """Observations whose two best actions score (logits or Q-values) within ``margin`` of the
    largest score's size: another runtime's float rounding may pick either of them."""
    inputs = tf.constant(agent.normalize_observations(observations))
    if hasattr(agent, 'q_values'):
        scores = agent.q_values(agent.model, inputs)
    else:
        scores = agent.policy_distribution(inputs).logits
    best = np.sort(np.asarray(scores), axis=-1)
    return best[:, -1] - best[:, -2] < margin * np.abs(best).max()


def run_exported(path, format: str, observations) -> np.ndarray:
    """The actions of an exported policy for an array of observations, or for its inputs by name (a dict)."""
    inputs = observations if isinstance(observations, dict) else {'observation': observations}
    if format == 'saved_model':
        return tf.saved_model.load(str(path)).signatures['serving_default'](**inputs)['action'].numpy()
    if format == 'onnx':
        import onnxruntime

        return onnxruntime.InferenceSession(str(path)).run(['action'], inputs)[0]
    from ai_edge_litert.interpreter import Interpreter  # LiteRT: tf.lite.Interpreter's successor

    interpreter = Interpreter(str(path))
    assert interpreter.get_signature_list()['serving_default']['inputs'] == sorted(inputs)
    return interpreter.get_signature_runner('serving_default')(**inputs)['action']


@pytest.mark.parametrize('name, env, env_kwargs, preprocess', CASES)
def test_every_export_format_acts_as_predict(tmp_path, name, env, env_kwargs, preprocess):
    image = preprocess or env in (POINTER, GRAY)
    agent = xagents.agents[name].from_env(
        env, env_kwargs=env_kwargs, preprocess=preprocess, normalize_obs=not image, seed=0, quiet=True
    )
    observations = env_observations(agent, 1000)
    if agent.obs_normalizer is not None:  # statistics that change the inputs: a mean and a spread of their own
        agent.obs_normalizer.stats.update(observations * 3.0 + 0.5)
    expected = agent.predict(observations)
    discrete = expected.dtype == np.int64
    if discrete:
        ties = near_ties(agent, observations)
        assert ties.mean() < 0.01  # an untrained network's ties: the comparison covers the rest
    for format in FORMATS:
        actions = run_exported(export(agent, tmp_path / f'policy.{format}', format), format, observations)
        assert actions.shape == expected.shape, format
        if discrete:
            np.testing.assert_array_equal(actions[~ties], expected[~ties], err_msg=format)
        else:
            assert np.abs(actions - expected).max() <= 1e-5, format
    if not discrete:
        low, high = agent.action_space.low, agent.action_space.high
        assert np.all((expected >= low) & (expected <= high))


def test_an_export_never_writes_over_a_file(tmp_path):
    agent = xagents.PPO.from_env(CORRIDOR, quiet=True)
    existing = tmp_path / 'policy.onnx'
    existing.write_text('keep me')
    with pytest.raises(ValueError, match='already exists'):
        export(agent, existing, 'onnx')
    assert existing.read_text() == 'keep me'


def test_a_tflite_export_runs_with_litert_in_a_process_without_tensorflow(tmp_path):
    import subprocess
    import sys

    agent = xagents.PPO.from_env(CORRIDOR, seed=0, quiet=True)
    observations = env_observations(agent, 200)
    np.save(tmp_path / 'observations.npy', observations)
    export(agent, tmp_path / 'policy.tflite', 'tflite')
    script = (
        "import sys; sys.modules['tensorflow'] = None  # any import of TensorFlow fails\n"
        'import numpy as np\n'
        'from ai_edge_litert.interpreter import Interpreter\n'
        "policy = Interpreter('policy.tflite').get_signature_runner('serving_default')\n"
        "np.save('actions.npy', policy(observation=np.load('observations.npy'))['action'])\n"
    )
    subprocess.run([sys.executable, '-c', script], cwd=tmp_path, check=True)
    np.testing.assert_array_equal(np.load(tmp_path / 'actions.npy'), agent.predict(observations))
