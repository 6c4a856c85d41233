"""Ships the top-level config.yaml inside the installed prompts/ package (a wheel has no project root).
Everything else about the package is in pyproject.toml."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithConfig(build_py):
    def run(self):
        super().run()
        if not self.editable_mode:
            target = Path(self.build_lib) / "prompts"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(__file__).parent / "config.yaml", target / "config.yaml")


setup(cmdclass={"build_py": BuildPyWithConfig})
