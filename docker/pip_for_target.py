"""Run pip with environment markers evaluated for the Lambda target instead of this host.

pip's --python-version and --platform choose wheels for another interpreter, but pip still
evaluates environment markers (`tomli; python_version < "3.11"`, `platform_machine == "aarch64"`)
against the interpreter running it (pypa/pip#11010, #13296). A python3.9 or arm64 package built on
a python3.11 x86_64 host would then silently miss dependencies. This wrapper overrides the marker
environment with the target's values and hands the rest of the command line to pip.

Usage: python pip_for_target.py '<json object of marker values>' install ...
"""
import json
import runpy
import sys


def main() -> None:
    target = json.loads(sys.argv[1])
    from pip._vendor.packaging import markers

    host_environment = markers.default_environment

    def target_environment():
        environment = host_environment()
        environment.update(target)
        return environment

    markers.default_environment = target_environment
    sys.argv = ["pip", *sys.argv[2:]]
    runpy.run_module("pip", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
