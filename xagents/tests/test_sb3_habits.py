"""What a Stable-Baselines3 user brings: env objects, predict's shape, net_arch, SB3's keywords, fit's budget."""

import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import xagents
from xagents import DQN, PPO, TD3
from xagents.nets.arch import activation_name, net_arch_text

PPO_MODELS = Path(xagents.__file__).parent / 'ppo' / 'models'


def hidden_units(model):
    """Units of the dense layers of a model, output layers included, sorted (branches interleave)."""
    return sorted(layer.units for layer in model.layers if hasattr(layer, 'units'))


def play_random(agent, steps):
    """Step the agent's envs with random actions, as training does (episodes end and reset)."""
    agent.reset_envs()
    for _ in range(steps):
        agent.step_envs(agent.random_actions())


# ---------------------------------------------------------------- env objects
def test_from_env_takes_a_gymnasium_env_instance():
    env = gym.make('CartPole-v1', sutton_barto_reward=True)
    agent = PPO.from_env(env, seed=1)
    assert agent.n_envs == 1 and agent.envs.envs[0] is env
    assert agent.env_recipe.name == 'CartPole-v1' and agent.env_recipe.env_kwargs == {'sutton_barto_reward': True}
    play_random(agent, 60)
    assert agent.episodes >= 1
    limited = PPO.from_env(gym.make('CartPole-v1', max_episode_steps=20))
    assert limited.env_recipe.env_kwargs == {'max_episode_steps': 20}  # evaluation and play keep the limit


@pytest.mark.parametrize('mode', [None, 'sync'])
def test_from_env_takes_a_vector_env_that_resets_in_the_next_step(mode):
    envs = gym.make_vec('CartPole-v1', 3, vectorization_mode=mode)
    assert envs.metadata['autoreset_mode'] == gym.vector.AutoresetMode.NEXT_STEP
    agent = PPO.from_env(envs, seed=1)
    assert agent.envs is envs and agent.n_envs == 3
    play_random(agent, 60)  # KeyError 'final_obs' at the first episode end before
    assert agent.episodes >= 3


def test_an_agent_made_on_a_make_vec_env_steps_through_episode_ends():
    envs = gym.make_vec('CartPole-v1', 2)
    agent = PPO(envs, *PPO.build_models(envs), seed=1)
    play_random(agent, 60)
    assert agent.episodes >= 2


def _clipped(env):
    return gym.wrappers.ClipReward(env, -1, 1)


def test_a_vector_env_run_saves_only_what_makes_one_env():
    # gym.make_vec's own arguments (num_envs, vectorization_mode, vector_kwargs) made its runs unloadable
    same_step = {'autoreset_mode': gym.vector.AutoresetMode.SAME_STEP}
    for envs, kwargs in (
        (gym.make_vec('CartPole-v1', 2), {}),
        (gym.make_vec('CartPole-v1', 2, max_episode_steps=100), {'max_episode_steps': 100}),
        (gym.make_vec('Pendulum-v1', 2, vectorization_mode='sync'), {}),
        (gym.make_vec('CartPole-v1', 2, vectorization_mode='async', vector_kwargs=same_step), {}),
    ):
        assert PPO.from_env(envs, quiet=True).envs.recipe.env_kwargs == kwargs
        envs.close()


@pytest.mark.parametrize(
    'make, message',
    [
        (
            lambda: PPO.from_env(gym.make('CartPole-v1'), n_envs=4),
            r"cannot be copied.*from_env\('CartPole-v1', n_envs=4\)",
        ),
        (lambda: PPO.from_env(gym.make('CartPole-v1'), preprocess=True), 'preprocess: options of the envs xagents'),
        (
            lambda: PPO.from_env(gym.wrappers.NormalizeObservation(gym.make('CartPole-v1'))),
            r'wrappers added after it was made \(NormalizeObservation\).*a function',
        ),
        (
            lambda: PPO.from_env(gym.make('CartPole-v1').unwrapped.__class__()),
            'CartPoleEnv has no spec.*its class or a function',
        ),
        (
            lambda: PPO.from_env(gym.make_vec('CartPole-v1', 2, vectorization_mode='async')),
            r'AsyncVectorEnv resets finished episodes in NextStep mode.*AutoresetMode.SAME_STEP.*n_envs=2\)',
        ),
        (lambda: PPO.from_env(gym.make_vec('CartPole-v1', 2), n_envs=3), 'n_envs=3, but the vector env given has 2'),
        (
            lambda: PPO.from_env(gym.make_vec('Pendulum-v1', 2, vectorization_mode='sync', wrappers=[_clipped])),
            r'wrappers added after it was made \(_clipped\).*a function that makes one env wrapped',
        ),
        (
            lambda: PPO.from_env(gym.wrappers.vector.ClipReward(gym.make_vec('Pendulum-v1', 2), -1, 1)),
            r'wrappers added after it was made \(ClipReward\)',
        ),
    ],
)
def test_env_objects_that_cannot_be_trained_on_are_one_line_errors(make, message):
    with pytest.raises(ValueError, match=message) as error:
        make()
    assert '\n' not in str(error.value)


@pytest.mark.integration
def test_env_objects_train_evaluate_save_and_load(tmp_path):
    agent = PPO.from_env(gym.make('CartPole-v1'), seed=1, quiet=True, n_steps=32, eval_interval=64, eval_episodes=1)
    agent.fit(max_steps=128, output_dir=str(tmp_path / 'instance'))
    assert json.loads((tmp_path / 'instance' / 'config.json').read_text())['env'] == 'CartPole-v1'
    loaded = xagents.load(tmp_path / 'instance')
    assert loaded.predict(np.zeros(4, np.float32)) in (0, 1)
    envs = gym.make_vec('CartPole-v1', 4)
    vector_agent = PPO(envs, *PPO.build_models(envs), seed=1, quiet=True, n_steps=64)
    assert vector_agent.fit(max_steps=1024, output_dir=str(tmp_path / 'vector')) == 'max_steps'
    assert vector_agent.episodes > 4
    made = PPO.from_env(gym.make_vec('CartPole-v1', 2), seed=1, quiet=True, n_steps=32, eval_interval=64)
    assert made.fit(max_steps=128, output_dir=str(tmp_path / 'made')) == 'max_steps'
    assert xagents.load(tmp_path / 'made').predict(np.zeros((2, 4), np.float32)).shape == (2,)


# ------------------------------------------------------------------ predict
def test_predict_gives_sb3s_action_and_state_when_asked():
    agent = PPO.from_env('CartPole-v1', seed=1)
    one, batch = np.zeros(4, np.float32), np.zeros((2, 4), np.float32)
    action, state = agent.predict(one, sb3=True)
    assert np.ndim(action) == 0 and state is None
    actions, state = agent.predict(batch, sb3=True)
    assert actions.shape == (2,) and state is None
    assert np.ndim(agent.predict(one)) == 0 and agent.predict(batch).shape == (2,)  # as before


def test_predict_takes_sb3s_state_and_episode_start_and_gives_the_state_back():
    agent = PPO.from_env('CartPole-v1', seed=1)
    batch, starts = np.zeros((2, 4), np.float32), np.array([True, False])
    # SB3's recurrent-ready loop: state=None first, the returned state passed back each step.
    actions, state = agent.predict(batch, state=None, episode_start=starts, deterministic=True, sb3=True)
    assert actions.shape == (2,) and state is None
    kept = (np.ones((2, 3)),)
    assert agent.predict(batch, state=kept, episode_start=starts, sb3=True)[1] is kept
    with pytest.raises(TypeError, match="SB3's predict arguments: give sb3=True"):
        agent.predict(batch, episode_start=starts)


# ------------------------------------------------------------------ net_arch
def test_net_arch_replaces_the_hidden_layers_of_the_default_files_and_keeps_the_rest():
    text = net_arch_text(PPO_MODELS / 'cnn-actor-critic.cfg', [128, 64], 'tanh')
    sections = [line for line in text.splitlines() if line.startswith('[')]
    assert sections == [*(f'[convolutional-{i}]' for i in range(3)), '[flatten-0]', *(f'[dense-{i}]' for i in range(4))]
    dense = text.split('[dense-0]')[1]
    assert 'units=128' in dense.split('[dense-1]')[0] and 'activation=tanh' in dense
    last_hidden = text.split('[dense-1]')[1].split('[dense-2]')[0]
    assert 'units=64' in last_hidden and 'common=1' in last_hidden  # the shared trunk still ends there
    assert text.count('output=1') == 2 and 'gain=0.01' in text


@pytest.mark.parametrize(
    'agent_class, env, units',
    [
        (PPO, 'CartPole-v1', {'model': [1, 2, 32, 32, 32, 32]}),
        (DQN, 'CartPole-v1', {'model': [2, 32, 32]}),
        (TD3, 'Pendulum-v1', {'actor': [1, 32, 32], 'critic': [1, 32, 32]}),
    ],
)
def test_net_arch_builds_every_model_of_the_agent(agent_class, env, units):
    agent = agent_class.from_env(env, net_arch=[32, 32], activation='nn.ReLU', seed=1)
    assert {role: hidden_units(model) for role, model in agent.models.items()} == units
    assert 'activation=relu' in Path(agent.model_files[0]).read_text()


@pytest.mark.parametrize('agent_class', [PPO, DQN])
def test_net_arch_of_image_observations_sets_the_dense_layers_after_the_cnn(agent_class):
    agent = agent_class.from_env('xagents.tests.tiny_envs:Pointer-v0', net_arch=[16], seed=1)  # 7x7x3 uint8
    model = next(iter(agent.models.values()))
    assert any(layer.__class__.__name__ == 'Conv2D' for layer in model.layers)
    assert 16 in hidden_units(model) and 512 not in hidden_units(model)


def test_net_arch_is_refused_with_model_files_and_checked():
    files = [str(PPO_MODELS / 'ann-actor-critic.cfg')]
    with pytest.raises(ValueError, match='give them or model files'):
        PPO.from_env('CartPole-v1', net_arch=[8], model_files=files)
    with pytest.raises(ValueError, match=r'list of positive layer sizes, such as \[256, 256\]'):
        PPO.from_env('CartPole-v1', net_arch=[8, 0])
    with pytest.raises(ValueError, match=r'dict\(pi=..., vf=...\)'):
        PPO.from_env('CartPole-v1', net_arch={'pi': [8], 'vf': [8]})
    assert activation_name('LeakyReLU') == 'leaky_relu' and activation_name('Tanh') == 'tanh'


@pytest.mark.integration
def test_net_arch_on_the_command_line_is_kept_by_the_run(tmp_path):
    run = tmp_path / 'run'
    command = [sys.executable, '-m', 'xagents', 'train', 'ppo', '--env', 'CartPole-v1', '--max-steps', '64']
    options = ['--n-envs', '1', '--n-steps', '32', '--net-arch', '24', '12', '--activation', 'relu', '--quiet']
    subprocess.run([*command, *options, '--output-dir', str(run)], check=True, cwd=tmp_path)
    loaded = xagents.load(run)
    assert hidden_units(loaded.models['model']) == [1, 2, 12, 12, 24, 24]
    resumed = subprocess.run(
        [*command, '--resume', str(run), '--net-arch', '8'], capture_output=True, text=True, cwd=tmp_path
    )
    assert resumed.returncode == 2 and '--net-arch would change it' in resumed.stderr
    config = json.loads((run / 'config.json').read_text())
    assert (config['net_arch'], config['activation']) == ([24, 12], 'relu')
    # the same networks again are no change (they were refused, and from_env got both them and the files)
    more = [*command[:-1], '128', '--resume', str(run), '--net-arch', '24', '12', '--activation', 'relu', '--quiet']
    resumed = subprocess.run(more, capture_output=True, text=True, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run / 'config.json').read_text())['net_arch'] == [24, 12]


# ------------------------------------------------------------ SB3's keywords
def test_sb3_keywords_get_the_xagents_name():
    with pytest.raises(TypeError, match=r'learning_rate \(did you mean lr\?\)'):
        PPO.from_env('CartPole-v1', learning_rate=1e-3)
    with pytest.raises(TypeError) as error:
        DQN.from_env('CartPole-v1', learning_starts=100, train_freq=4, target_update_interval=5, n_env=2)
    for hint in ('buffer_initial_size', 'train_frequency', 'target_sync_steps', 'n_envs'):
        assert f'did you mean {hint}?' in str(error.value)
    with pytest.raises(TypeError, match=r'n_epochs \(did you mean ppo_epochs\?\)'):
        PPO(gym.make_vec('CartPole-v1', 1), None, n_epochs=3)


def test_fit_names_the_budget_an_sb3_keyword_means():
    agent = PPO.from_env('CartPole-v1', seed=1, quiet=True)
    with pytest.raises(TypeError, match=r'total_timesteps \(did you mean max_steps\?\)'):
        agent.fit(total_timesteps=100)


def test_sb3_names_with_no_counterpart_say_what_stands_in_for_them_not_a_look_alike():
    # buffer_size went to PPO's reward_buffer_size (a look-alike); learn's budget where an agent is made
    with pytest.raises(TypeError) as error:
        PPO.from_env('CartPole-v1', buffer_size=10, save_replay_buffer=True, total_timesteps=100)
    message = str(error.value)
    assert 'reward_buffer_size' not in message
    assert 'buffer_size (this agent keeps no replay buffer' in message
    assert 'save_replay_buffer (this agent keeps no replay buffer' in message
    assert 'total_timesteps (an argument of fit here: agent.fit(max_steps=N)' in message
    with pytest.raises(TypeError, match=r'save_replay_buffer \(did you mean save_buffer\?\)'):
        DQN.from_env('CartPole-v1', save_replay_buffer=True)


# ----------------------------------------------------------- fit's max_steps
def test_max_steps_counts_from_the_first_step_and_an_agent_past_it_trains_nothing(tmp_path, capsys):
    agent = PPO.from_env('CartPole-v1', seed=1, output_dir=str(tmp_path / 'run'))
    agent.steps = 2000
    assert agent.fit(max_steps=1000) == 'max_steps'
    assert agent.steps == 2000 and not (tmp_path / 'run').exists()
    assert 'Already at step 2,000 of max_steps 1,000: nothing to train' in capsys.readouterr().out
    with pytest.raises(TypeError, match='not both'):
        agent.fit(max_steps=3000, more_steps=100)


@pytest.mark.integration
def test_more_steps_counts_from_now(tmp_path):
    agent = PPO.from_env('CartPole-v1', seed=1, quiet=True, n_steps=16, mini_batches=1, output_dir=str(tmp_path))
    agent.fit(max_steps=32)
    before = agent.steps
    agent.fit(more_steps=32)
    assert before + 32 <= agent.steps < before + 48
