/* nna completion bash|zsh — a shell completion script: commands, subcommands, each one's
 * options, values of --format and --status, file names where a path is expected.
 * The zsh script is the bash one run through zsh's bashcompinit. */
#include <string.h>
#include "cli.h"

static const char GLOBALS[] =
    "--base-url --api-key-file --profile --format --max-inflight --max-attempts --deadline "
    "--request-timeout --backoff --verbose --progress --no-progress --help --version";

/* Options that take a value: the word after them is not a command. */
static const char VALUED[] =
    "--base-url|--api-key-file|--profile|--format|--max-inflight|--max-attempts|--deadline|"
    "--request-timeout|--backoff|--query|--file|--output-config|--timeout|--agent-id|--status|"
    "--created-after|--created-before|--q|--limit|--text|--json|--input|--output|--journal|"
    "--runs|--seed";

static const char BODY[] =
"_nna() {\n"
"    local cur prev cmd= sub= i w skip=0\n"
"    cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
"    prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
"    case \"$prev\" in\n"
"        --api-key-file|--file|--input|--output|--journal)\n"
"            COMPREPLY=( $(compgen -f -- \"$cur\") ); return 0 ;;\n"
"        --format) COMPREPLY=( $(compgen -W \"table json\" -- \"$cur\") ); return 0 ;;\n"
"        --status) COMPREPLY=( $(compgen -W \"pending queued running waiting_for_input "
"awaiting_review completed failed stopped draft published archived\" -- \"$cur\") ); return 0 ;;\n"
"        @VALUED@) return 0 ;;\n"
"    esac\n"
"    for ((i = 1; i < COMP_CWORD; i++)); do\n"
"        w=\"${COMP_WORDS[i]}\"\n"
"        if [ \"$skip\" = 1 ]; then skip=0; continue; fi\n"
"        case \"$w\" in\n"
"            @VALUED@) skip=1; continue ;;\n"
"            -*) continue ;;\n"
"        esac\n"
"        if [ -z \"$cmd\" ]; then cmd=\"$w\"; elif [ -z \"$sub\" ]; then sub=\"$w\"; fi\n"
"    done\n"
"    local words=\"\"\n"
"    case \"$cmd\" in\n"
"        '') words=\"agents tasks run batch demo version completion help\" ;;\n"
"        agents)\n"
"            case \"$sub\" in\n"
"                '') words=\"list get create update versions publish\" ;;\n"
"                list) words=\"--q --status --limit --all\" ;;\n"
"                versions) words=\"--limit --all\" ;;\n"
"                create|update) words=\"--json\" ;;\n"
"            esac ;;\n"
"        tasks)\n"
"            case \"$sub\" in\n"
"                '') words=\"list get summary result messages cancel message wait\" ;;\n"
"                list) words=\"--agent-id --status --created-after --created-before --q "
"--limit --all\" ;;\n"
"                message) words=\"--text\" ;;\n"
"                wait) words=\"--timeout\" ;;\n"
"            esac ;;\n"
"        run) words=\"--query --file --output-config --wait --timeout\" ;;\n"
"        batch) words=\"--input --output --wait --resume --force --journal --timeout\" ;;\n"
"        demo) words=\"--runs --seed\" ;;\n"
"        completion) [ -z \"$sub\" ] && words=\"bash zsh\" ;;\n"
"    esac\n"
"    case \"$cur\" in\n"
"        -*) words=\"$words @GLOBALS@\" ;;\n"
"        *) words=$(printf '%s\\n' $words | grep -v '^-') ;;\n"
"    esac\n"
"    COMPREPLY=( $(compgen -W \"$words\" -- \"$cur\") )\n"
"    return 0\n"
"}\n"
"complete -F _nna nna\n";

/* BODY with @VALUED@ and @GLOBALS@ filled in. */
static void emit(void)
{
    for (const char *p = BODY; *p;) {
        if (strncmp(p, "@VALUED@", 8) == 0) {
            fputs(VALUED, stdout);
            p += 8;
        } else if (strncmp(p, "@GLOBALS@", 9) == 0) {
            fputs(GLOBALS, stdout);
            p += 9;
        } else {
            fputc(*p++, stdout);
        }
    }
}

int cmd_completion(int argc, char **argv)
{
    static const char *const shells[] = { "bash", "zsh", NULL };
    if (argc != 1 || arg_is_help(argv[0])) {
        if (argc == 1) {
            fputs("usage: nna completion bash|zsh\n\n"
                  "Prints a completion script. bash: eval \"$(nna completion bash)\" in\n"
                  "~/.bashrc; zsh: eval \"$(nna completion zsh)\" in ~/.zshrc.\n", stdout);
            return EXIT_OK;
        }
        return usage_error("usage: nna completion bash|zsh");
    }
    if (strcmp(argv[0], "bash") == 0) {
        fputs("# bash completion for nna: eval \"$(nna completion bash)\"\n", stdout);
    } else if (strcmp(argv[0], "zsh") == 0) {
        fputs("#compdef nna\n# zsh completion for nna: eval \"$(nna completion zsh)\"\n"
              "autoload -U +X bashcompinit && bashcompinit\n", stdout);
    } else {
        return unknown_word("shell", argv[0], shells, "nna completion --help");
    }
    emit();
    return EXIT_OK;
}
