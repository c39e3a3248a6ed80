"""Write the template that sam local runs.

    localtemplate.py BUILT-TEMPLATE OUT NAME...

BUILT-TEMPLATE is what `sam build` wrote (.aws-sam/build/template.yaml); OUT
is the same template with the variables NAME... declared, empty, for every
function (Globals). sam local sets only the variables a template declares, so
its --env-vars file could not otherwise point the functions at the local
emulator (DYNAMODB_ENDPOINT, SQS_ENDPOINT, KMS_ENDPOINT, EVENTBRIDGE_ENDPOINT); the deployed
template must not declare them (infra/sam/template_test.go). OUT sits next to
BUILT-TEMPLATE so that the functions' CodeUri still name the built code.
"""

import sys

import yaml


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst, names = argv[1], argv[2], argv[3:]
    with open(src, encoding="utf-8") as f:
        tpl = yaml.safe_load(f)
    variables = (
        tpl.setdefault("Globals", {})
        .setdefault("Function", {})
        .setdefault("Environment", {})
        .setdefault("Variables", {})
    )
    for name in names:
        variables.setdefault(name, "")
    with open(dst, "w", encoding="utf-8") as f:
        f.write("# Written by infra/sam/localtemplate.py for sam local; not deployed.\n")
        yaml.safe_dump(tpl, f, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
