# lit configuration of lorc's tests (FileCheck, -verify-diagnostics, tool errors, end to end).
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "LORC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py", "Inputs", "goldens"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.lorc_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%lorc_src", config.lorc_src_root))
config.substitutions.append(("%python", "python3"))

llvm_config.with_system_environment(["HOME", "LORC_CACHE", "LORC_MODEL_DIR", "TMPDIR"])
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.lorc_tools_dir, append_path=True)

tool_dirs = [config.lorc_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(["lorc-opt", "lorc-compile", "lorc-run"], tool_dirs)

# The model is fetched by scripts/fetch-model.sh; tests that need it require this feature.
model_dir = os.environ.get("LORC_MODEL_DIR") or os.path.join(
    os.environ.get("LORC_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "lorc")),
    "models", "all-MiniLM-L6-v2")
if os.path.exists(os.path.join(model_dir, "model.safetensors")):
    config.available_features.add("minilm")
config.substitutions.append(("%minilm", model_dir))
