from engine import ManagedWorkflow

# Plain functions — no spine imports needed
def greet(name: str = "World") -> dict:
    return {"message": f"Hello, {name}!"}

def shout(message: str = "") -> dict:
    return {"shouted": message.upper()}

# Build and run
wf = (
    ManagedWorkflow("hello.world")
    .step("greet", greet, config={"name": "spine-core"})
    .step("shout", shout)
    .build()
)
result = wf.run()
wf.show()
# ✅ hello.world — 2 steps — completed in 0.01s
