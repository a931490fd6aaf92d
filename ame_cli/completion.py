"""Shell completion: `ame completion bash|zsh|fish` prints the script, `ame completion --install`
puts it where the shell loads it. The scripts ask `ame __complete CWORD WORDS…` for the
candidates, so commands, options, choices and the names in ame.yml (tasks, models) and in
`.ame/` (run and flow ids) always match this version of ame and this project.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ame_cli.main import UsageError
from ame_cli.parser import SubcommandGroup

SHELLS = ("bash", "zsh", "fish")
# Answers that make the script complete paths itself.
FILES, DIRS = "__files__", "__dirs__"

BASH = r"""# ame completion for bash: `source <(ame completion bash)` or `ame completion --install bash`
_ame_complete() {
    local IFS=$'\n' out cur="${COMP_WORDS[COMP_CWORD]}"
    out=$(ame __complete "$COMP_CWORD" "${COMP_WORDS[@]}" 2>/dev/null)
    case "$out" in
        __files__) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
        __dirs__) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")) ;;
        *) COMPREPLY=($out) ;;
    esac
}
complete -F _ame_complete ame
"""

ZSH = r"""#compdef ame
# ame completion for zsh: `source <(ame completion zsh)` or `ame completion --install zsh`
_ame() {
    local -a candidates
    candidates=("${(@f)$(ame __complete $((CURRENT - 1)) "${words[@]}" 2>/dev/null)}")
    case "${candidates[1]}" in
        __files__) _files ;;
        __dirs__) _files -/ ;;
        *) (( ${#candidates} )) && [[ -n "${candidates[1]}" ]] && compadd -- "${candidates[@]}" ;;
    esac
}
if [[ "${zsh_eval_context[-1]}" == loadautofunc ]]; then
    _ame "$@"
else
    compdef _ame ame
fi
"""

FISH = r"""# ame completion for fish: `ame completion fish | source` or `ame completion --install fish`
function __ame_complete
    set -l words (commandline -opc)
    set -l current (commandline -ct)
    set -l out (ame __complete (count $words) $words $current 2>/dev/null)
    switch "$out[1]"
        case __files__
            __fish_complete_path $current
        case __dirs__
            __fish_complete_directories $current
        case '*'
            printf '%s\n' $out
    end
end
complete -c ame -f -a '(__ame_complete)'
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def install_path(shell: str) -> Path:
    """Where each shell finds a user's completions without editing its rc file (zsh: a folder
    that must be on $fpath; --install says how)."""
    home = Path.home()
    data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    if shell == "bash":
        return data / "bash-completion" / "completions" / "ame"
    if shell == "zsh":
        return data / "zsh" / "site-functions" / "_ame"
    return config / "fish" / "completions" / "ame.fish"


def register(subparsers: SubcommandGroup) -> None:
    parser = subparsers.add_parser(
        "completion",
        help="shell completion for bash, zsh or fish",
        description="Print the completion script for SHELL (`source <(ame completion bash)`), "
        "or with --install write it where the shell loads it: bash "
        "~/.local/share/bash-completion/completions/ame, zsh "
        "~/.local/share/zsh/site-functions/_ame (add that folder to $fpath), fish "
        "~/.config/fish/completions/ame.fish.",
    )
    parser.add_argument("shell", nargs="?", choices=SHELLS, help="default: the one in $SHELL")
    parser.add_argument("--install", action="store_true", help="write it where SHELL loads it")
    parser.set_defaults(func=run)
    # What the scripts call; not for people, so not listed.
    hidden = subparsers.add_parser("__complete", add_help=False)
    hidden.add_argument("cword", type=int)
    hidden.add_argument("words", nargs=argparse.REMAINDER)
    hidden.set_defaults(func=run_complete)


def run(args: argparse.Namespace) -> int:
    shell = args.shell or Path(os.environ.get("SHELL", "")).name
    if shell not in SHELLS:
        raise UsageError(
            f"which shell? give one of {', '.join(SHELLS)} (`$SHELL` is {shell or 'not set'})"
        )
    if not args.install:
        sys.stdout.write(SCRIPTS[shell])
        return 0
    target = install_path(shell)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(SCRIPTS[shell], encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    print(f"wrote {target}")
    notes = {
        "bash": "new bash sessions complete ame (needs the bash-completion package)",
        "zsh": f"add `fpath+=({target.parent})` before `compinit` in ~/.zshrc",
        "fish": "new fish sessions complete ame",
    }
    print(notes[shell], file=sys.stderr)
    return 0


def run_complete(args: argparse.Namespace) -> int:
    from ame_cli.complete_words import candidates
    from ame_cli.main import build_parser

    words = list(args.words)
    cword = max(1, min(args.cword, len(words)))
    before, current = words[1:cword], words[cword] if cword < len(words) else ""
    for line in candidates(build_parser(), before, current):
        print(line)
    return 0
