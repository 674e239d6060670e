from engine import HotReloadAdapter
from engine import LocalProcessAdapter

# Factory creates a new adapter whenever config changes
def adapter_factory(config):
    return LocalProcessAdapter()

# Start with v1 config
hot = HotReloadAdapter(
    initial_config={
        "image": "spine-pipeline:v1",
        "timeout": 30,
        "env": {"LOG_LEVEL": "INFO"},
    },
    adapter_factory=adapter_factory,
)

print(f"Current config: {hot.current_config}")
print(f"Reload count: {hot.reload_count}")  # 0

# Simulate config change (e.g., from file watcher or API call)
hot.update_config({
    "image": "spine-pipeline:v2",
    "timeout": 60,
    "env": {"LOG_LEVEL": "DEBUG"},
})

print(f"Updated config: {hot.current_config}")
print(f"Reload count: {hot.reload_count}")  # 1
# Next job submission automatically uses the new adapter
