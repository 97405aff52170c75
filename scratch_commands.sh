#!/usr/bin/env bash
# scratch_commands.sh: a runnable collection of xagents example commands, one per use case, each
# under a comment saying what it shows (the original xagents ships a file of this name).
# Copy the one you need, or run the file from the repository root after `pip install -e .`:
# it takes hours and stops at the first command that fails (the PostgreSQL study needs a server,
# myenvs:Corridor-v0 the README's myenvs.py).
set -euo pipefail

# Train PPO on CartPole until the mean of the last 100 episodes reaches 475 (uses the shipped preset).
xagents train ppo --env CartPole-v1 --target-reward 475 --output-dir runs/ppo-cartpole

# The original xagents command: explicit checkpoint and history paths, fixed seed.
xagents train ppo --env CartPole-v1 --target-reward 250 --n-envs 16 --n-steps 1024 \
    --checkpoints ppo-cartpole.tf --history-checkpoint ppo-cartpole.parquet --seed 123

# Plot the learning curve (mean reward against steps) to a PNG.
xagents plot ppo-cartpole.parquet --labels PPO --env CartPole-v1 --output ppo-cartpole.png
python -c "from xagents.utils.common import plot_history; import matplotlib.pyplot as plt; \
    plot_history(['ppo-cartpole.parquet'], ['PPO'], 'CartPole-v1', history_interval=100); plt.savefig('p.png')"

# Watch it: an mp4 per episode (headless; --render is ignored without a display).
xagents play ppo --env CartPole-v1 --render --weights ppo-cartpole.tf --video-dir video
# Or play a run directory: environment, settings and best weights come from it.
xagents play ppo --run runs/ppo-cartpole --episodes 3 --video-dir video

# Evaluate: 16 episodes in parallel, mean ± std, results as JSON; a random baseline to compare.
xagents play ppo --run runs/ppo-cartpole --episodes 16 --output eval.json
xagents play ppo --env CartPole-v1 --random --episodes 16 --output random.json
# A gif for a README, jpg frames, and headless recording of Atari and MuJoCo.
xagents play ppo --run runs/ppo-cartpole --max-episode-steps 300 --gif cartpole.gif --frame-frequency 2
xagents play dqn --env PongNoFrameskip-v4 --preprocess --random --episodes 2 --video-dir pong --frame-dir pong-frames
xagents play td3 --env HalfCheetah-v5 --random --max-episode-steps 300 --video-dir cheetah

# Watch training: a video every 50 episodes, a greedy evaluation every 10k steps choosing the best
# checkpoint, numbered snapshots, TensorBoard, and wandb (offline when there is no account).
xagents train ppo --env CartPole-v1 --max-steps 100000 --output-dir runs/watched --video-interval 50 \
    --eval-interval 10000 --eval-episodes 10 --snapshot-interval 20000 --tensorboard --monitor-session watched
xagents play ppo --run runs/watched --snapshot 20000 --video-dir early
tensorboard --logdir runs/watched/tensorboard

# Tune: 6 PPO trials over a learning-rate range and rollout-length choices (SQLite), then the report.
xagents tune ppo --env CartPole-v1 --study s1 --trial-steps 20000 --n-trials 6 --n-jobs 2 --lr 1e-4 3e-3 --n-steps 16 32 64
xagents tune ppo --env CartPole-v1 --study s1 --trial-steps 20000 --report
xagents train ppo --env CartPole-v1 --preset tune/s1/best-preset.json --max-steps 100000
# The same study shared by workers on several machines (run this on each).
xagents tune ppo --env CartPole-v1 --study s2 --storage postgresql://user@dbhost/tune --trial-steps 20000 \
    --n-trials 50 --lr 1e-4 3e-3 --n-steps 16 32 64

# Resume an interrupted run: weights, optimizer, counters, RNG and history continue.
xagents train ppo --env CartPole-v1 --max-steps 200000 --output-dir runs/ppo-cartpole --resume runs/ppo-cartpole

# Other hidden layers without a .cfg file (SB3's net_arch and activation_fn); the run keeps them.
xagents train ppo --env CartPole-v1 --max-steps 50000 --net-arch 128 128 --activation relu --output-dir runs/ppo-128x128

# Continuous control: PPO on Pendulum (preset with observation normalization).
xagents train ppo --env Pendulum-v1 --target-reward -300 --max-steps 1000000

# DQN and double DQN on CartPole.
xagents train dqn --env CartPole-v1 --target-reward 475 --max-steps 300000 --double

# Atari: preprocessing (SB3's AtariWrapper: 84x84 grayscale, frame skip + max-pool, FIRE reset, 4-frame stack).
xagents train dqn --env PongNoFrameskip-v4 --preprocess --n-envs 4 --target-reward 19 \
    --lr 1e-4 --buffer-max-size 100000 --buffer-initial-size 10000
# The PPO preset with RL Zoo's linear schedules (lr lin_2.5e-4, clip lin_0.1) over --max-steps.
xagents train ppo --env PongNoFrameskip-v4 --max-steps 2500000 --output-dir runs/ppo-pong

# SAC on Pendulum (RL Zoo's preset) and on HalfCheetah.
xagents train sac --env Pendulum-v1 --max-steps 20000 --output-dir runs/sac-pendulum
xagents train sac --env HalfCheetah-v5 --max-steps 300000 --eval-interval 10000 --output-dir runs/sac-cheetah

# Benchmark our PPO against Stable-Baselines3 on the same machine.
pip install -e '.[bench]' && python benchmarks/compare.py --seeds 0 1 2

# Your own environment: package.module:EnvId (the module registers it) with keyword arguments;
# play, resume and export take everything from the run folder.
xagents train ppo --env myenvs:Corridor-v0 --env-kwargs length:9 --max-steps 20000 --output-dir runs/corridor
xagents play ppo --run runs/corridor --episodes 5
xagents train ppo --resume runs/corridor --max-steps 40000

# Export the trained policy (raw observation in, env action out).
pip install -e '.[export]'
xagents export --run runs/corridor --format onnx --output corridor.onnx
xagents export --run runs/corridor --format saved_model --output corridor-policy
xagents export --run runs/corridor --format tflite --output corridor.tflite

# Image observations outside Atari: a 7x7x3 uint8 env gets the small CNN (cnn-small-*.cfg; NatureCNN
# from 36x36 up), scaled to [0, 1] in the model; played with video, exported with a uint8 input.
xagents train ppo --env xagents.tests.tiny_envs:Pointer-v0 --n-envs 4 --n-steps 64 --mini-batches 4 --ppo-epochs 4 --max-steps 4000 --output-dir runs/pointer
xagents play ppo --run runs/pointer --episodes 5 --video-dir videos/pointer
xagents export --run runs/pointer --format onnx --output pointer.onnx

# Dict observations: one named input per key (image, vector, Discrete); MiniGrid's text mission left
# out with --obs-keys (pip install minigrid); exports take one input per key.
xagents train ppo --env xagents.tests.tiny_envs:DictPointer-v0 --n-envs 4 --n-steps 32 --mini-batches 4 --lr 1e-3 --max-steps 6000 --output-dir runs/dict-pointer
xagents play ppo --run runs/dict-pointer --episodes 5 --video-dir videos/dict-pointer
xagents train dqn --env xagents.tests.tiny_envs:DictPointer-v0 --n-envs 4 --buffer-initial-size 500 --save-buffer --max-steps 4000 --output-dir runs/dict-pointer-dqn
xagents train ppo --env minigrid:MiniGrid-DoorKey-5x5-v0 --obs-keys image direction --max-steps 150000 --output-dir runs/doorkey --seed 0
xagents play ppo --run runs/doorkey --episodes 20
xagents export --run runs/doorkey --format onnx --output doorkey.onnx
# The same beside SB3's PPO, 2 seeds each, greedy evaluation over 20 episodes (pip install stable-baselines3).
python benchmarks/minigrid_doorkey.py --steps 150000 --seeds 0 1
# Frame stacking: the last N observations as one (CartPole with its velocities hidden); DQN stores
# each frame once in replay; play, resume and exports take the stacked observation.
xagents train ppo --env xagents.tests.stack_envs:MaskedCartPole-v0 --frame-stack 4 --max-steps 100000 --output-dir runs/masked-stack4 --seed 1
xagents play ppo --run runs/masked-stack4 --episodes 5 --video-dir videos/masked-stack4
xagents train dqn --env xagents.tests.stack_envs:MaskedCartPole-v0 --frame-stack 4 --save-buffer --max-steps 20000 --output-dir runs/masked-stack4-dqn
# Action masks (sb3-contrib's convention: action_masks() or info['action_mask']): on by default when
# the env gives them; never a masked action in training, play (--random too), predict and exports.
xagents train ppo --env xagents.tests.tiny_envs:Keypad-v0 --max-steps 10000 --output-dir runs/keypad --seed 1
xagents train dqn --env xagents.tests.tiny_envs:Keypad-v0 --max-steps 10000 --output-dir runs/keypad-dqn --seed 1
xagents play ppo --run runs/keypad --episodes 20 --random
xagents export --run runs/keypad --format onnx --output keypad.onnx

# Goal envs with hindsight experience replay (DQN, DDPG, TD3, SAC): 15-bit flipping, where DQN
# without --her never succeeds; the history gets a success column from info['is_success'].
xagents train dqn --env xagents.tests.tiny_envs:BitFlip-v0 --env-kwargs n:15 --her --max-steps 15000 --gamma 0.98 --lr 1e-3 --buffer-batch-size 256 --buffer-initial-size 1000 --train-frequency 1 --target-sync-steps 500 --exploration-fraction 0.1 --save-buffer --output-dir runs/bits-her
xagents train sac --env xagents.tests.tiny_envs:PointReach-v0 --her --her-strategy future --her-goals 4 --gamma 0.95 --lr 1e-3 --tau 0.05 --buffer-initial-size 1000 --max-steps 8000 --output-dir runs/point-her
python benchmarks/her.py --task bits --steps 15000 --seeds 0 1
