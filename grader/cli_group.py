"""The click machinery of `grade`: a first word that is not a command is an exercise,
a mistyped word gets one line with a guess, `grade` alone prints its help, Ctrl-C ends
with status 130, every command has --version, and a student release lists only the
students' commands (`grade release` writes grader/_student_release.py; the other commands
still run, unlisted).
"""

from __future__ import annotations

from pathlib import Path

import click

from grader.errors import did_you_mean
from grader.i18n import _

STUDENT_RELEASE = (Path(__file__).parent / "_student_release.py").is_file()
STUDENT_COMMANDS = ("all", "list")  # with `grade EXERCISE`: what a student's help shows


class UsageProblem(click.ClickException):
    """A usage or configuration mistake: one line on stderr, exit status 2."""

    exit_code = 2

    def show(self, file=None):
        click.echo(f"Error: {self.format_message()}", err=True)


def one_line(exc: click.UsageError, ctx, args: list[str]) -> UsageProblem:
    """Click's usage mistake (an unknown or missing option, an extra argument), said in one
    line that points to the help, instead of click's usage, hint and error on four lines;
    in the language of a --lang among `args` (parsing stopped, maybe before it), else
    GRADER_LANG's (click's own part stays English)."""
    from grader import i18n

    flag = next((a.split("=", 1)[1] for a in args if a.startswith("--lang=")), None) or next(
        (args[i + 1] for i, a in enumerate(args[:-1]) if a == "--lang"), None)
    try:
        lang = i18n.resolve(flag)
    except i18n.UnknownLanguage:
        lang = i18n.current()
    problem = exc.format_message().strip()
    # click leaves a context open when parsing fails: close it, or what its options entered (the
    # language of --lang) would stay in force for the rest of the process
    ctx.close()
    with i18n.language(lang):
        return UsageProblem(_("{problem} See '{command} --help'.", command=ctx.command_path,
                              problem=problem if problem.endswith((".", "?", "!", "?)")) else problem + "."))


class Command(click.Command):
    """A command whose usage mistakes are one line (`one_line`)."""

    def parse_args(self, ctx, args):
        given = list(args)  # click's parser consumes the list
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise one_line(exc, ctx, given) from None


class Group(click.Group):
    """A group that answers a mistyped command with one line and a guess."""

    command_class = Command

    def parse_args(self, ctx, args):
        given = list(args)  # click's parser consumes the list
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise one_line(exc, ctx, given) from None

    def resolve_command(self, ctx, args):
        if args and not args[0].startswith("-") and self.get_command(ctx, args[0]) is None:
            names = visible_commands(ctx)
            guess = did_you_mean(args[0], names)
            command = f"{ctx.command_path} {args[0]}"
            raise UsageProblem(_("unknown command '{command}'; did you mean '{guess}'?", command=command,
                                 guess=f"{ctx.command_path} {guess}") if guess else
                               _("unknown command '{command}'; the commands are: {commands}", command=command,
                                 commands=", ".join(names)))
        return super().resolve_command(ctx, args)


class GradeGroup(Group):
    """`grade exercise3` runs `exercise_command` with exercise3 as its argument; other
    words are commands. Alone, the help."""

    exercise_command: click.Command | None = None

    def parse_args(self, ctx, args):
        if not args and not ctx.resilient_parsing:
            click.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx, args):
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            return args[0], self.exercise_command, args
        return super().resolve_command(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # Ctrl-C where a command does not say more: no traceback
            click.echo(_("Interrupted."), err=True)
            ctx.exit(130)

    def format_usage(self, ctx, formatter):
        formatter.write_usage(ctx.command_path, "EXERCISE [OPTIONS] | COMMAND [ARGS]...")


class ExerciseCommand(Command):
    """Its usage line reads `grade EXERCISE [OPTIONS]`; errors say `Try 'grade exercise3 --help'`."""

    def format_usage(self, ctx, formatter):
        formatter.write_usage(ctx.parent.command_path if ctx.parent else "grade", "EXERCISE [OPTIONS]")

    def parse_args(self, ctx, args):
        given = list(args)  # click's parser consumes the list
        try:
            return click.Command.parse_args(self, ctx, args)
        except click.UsageError as exc:  # `grade batc exercise3 subs/ --out x.csv`: a mistyped command
            guess = did_you_mean(ctx.info_name, visible_commands(ctx.parent)) if ctx.parent else None
            if guess:
                ctx.close()
                raise UsageProblem(_("unknown command {command}; did you mean {guess}?",
                                     command=repr(ctx.info_name), guess=repr(guess))) from None
            raise one_line(exc, ctx, given) from None


def visible_commands(ctx) -> list[str]:
    group = ctx.command
    return [name for name in group.list_commands(ctx) if not group.get_command(ctx, name).hidden]


def unknown_word(ctx, word: str, exercises=(), problem: str = "") -> str:
    """The message for `grade WORD` when WORD is no exercise of the course (`exercises`;
    none when no course was found, whose `problem` is then the message): a guess among the
    exercises and the commands."""
    from grader.errors import UnknownExercise

    commands = visible_commands(ctx.parent) if ctx.parent else []
    guess = did_you_mean(word, [*exercises, *commands])
    if guess in commands:
        return _("unknown command {command}; did you mean {guess}?", command=repr(word), guess=repr(guess))
    return str(UnknownExercise(word, exercises)) if exercises else problem


LANG_FLAG = "grader.lang"  # ctx.meta: the --lang given (the course's language may come later)


def _speak(ctx, _param, value):
    """--lang: speak the language it names (or GRADER_LANG's) from here on; once the course
    is read, `speak_course` adds course.yml's `language:` below these two."""
    from grader import i18n

    try:
        lang = i18n.resolve(value)
    except i18n.UnknownLanguage as exc:
        raise UsageProblem(str(exc)) from None
    ctx.meta[LANG_FLAG] = value
    ctx.with_resource(i18n.language(lang))


def speak_course(course) -> None:
    """The command's language now that its course is known: --lang, GRADER_LANG, course.yml."""
    from grader import i18n

    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.with_resource(i18n.language(i18n.resolve(ctx.meta.get(LANG_FLAG), course.language)))


lang_option = click.option("--lang", metavar="LANG", expose_value=False, callback=_speak,
                           help="The language of the feedback: en or ko (default: GRADER_LANG, "
                                "then course.yml's language:, then en).")


def finish(group: click.Group, *extra: click.Command, root: click.Group | None = None) -> None:
    """--version and --lang on every command; in a student release, only the students'
    commands listed."""
    root = root or group
    for command in extra:
        click.version_option(package_name="dl-grader")(command)
        lang_option(command)
    for name, command in group.commands.items():
        click.version_option(package_name="dl-grader")(command)
        if not isinstance(command, click.Group) and command not in extra:
            lang_option(command)
        command.hidden |= STUDENT_RELEASE and group is root and name not in STUDENT_COMMANDS
        if isinstance(command, click.Group):
            finish(command, root=root)
