using System.Text;
using System.Text.Json;
using ChatOpsPull.Cli;
using ChatOpsPull.Hosting;

namespace ChatOpsPull.Tests.Cli;

/// <summary><c>chatopspull classify</c> driven in process through <see cref="CliApp.RunAsync"/>.</summary>
public sealed class ClassifyVerbTests
{
    private sealed record Run(int ExitCode, string[] Lines, string Error);

    private static async Task<Run> ClassifyAsync(string input, params string[] extraArgs)
    {
        using var stdin = new StringReader(input);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CliApp.RunAsync(["classify", .. extraArgs], stdin, stdout, stderr);
        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return new Run(code, lines, stderr.ToString());
    }

    private static JsonElement Json(string line)
    {
        using var document = JsonDocument.Parse(line);
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task Each_line_gets_its_cause_confidence_and_summary()
    {
        var input = string.Join('\n',
            """{"message": "Failed to pull image \"nginx:1.99\": rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/nginx:1.99\": failed to resolve reference \"docker.io/library/nginx:1.99\": docker.io/library/nginx:1.99: not found", "reason": "ErrImagePull"}""",
            """{"message": "Container image \"app:local\" is not present with pull policy of Never", "reason": "ErrImageNeverPull", "pod": "default/app-0", "count": 3}""",
            """{"message": "", "reason": "ImagePullBackOff"}""") + "\n";

        var run = await ClassifyAsync(input);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(3, run.Lines.Length);
        var first = Json(run.Lines[0]);
        Assert.Equal("image_not_found", first.GetProperty("cause").GetString());
        Assert.InRange(first.GetProperty("confidence").GetDouble(), 0.5, 0.9);
        Assert.Contains("nginx:1.99", first.GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.Equal("never_pull", Json(run.Lines[1]).GetProperty("cause").GetString());
        Assert.Equal("backoff_only", Json(run.Lines[2]).GetProperty("cause").GetString());
        Assert.Equal(string.Empty, run.Error);
    }

    [Fact]
    public async Task The_newer_kubelet_causes_are_named_in_the_output()
    {
        var input = string.Join('\n',
            """{"message": "", "reason": "ErrImageNotEnsured"}""",
            """{"message": "Container image \"registry.example.com/team/app:2\" is present with pull policy of \"IfNotPresent\" but does not have the proper auth (image secret) that was used to pull the image"}""",
            """{"message": "Failed to pull image \"registry.example.com/team/app:2\": pull QPS exceeded", "reason": "ErrImagePull"}""",
            """{"message": "Failed to pull image \"quay.io/org/app:1\": rpc error: code = Unknown desc = Source image rejected: A signature was required, but no signature exists", "reason": "ErrImagePull"}""",
            """{"message": "", "reason": "SignatureValidationFailed"}""") + "\n";

        var run = await ClassifyAsync(input);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(
            ["image_not_ensured", "image_not_ensured", "node_pull_limit", "policy_rejected", "policy_rejected"],
            run.Lines.Select(l => Json(l).GetProperty("cause").GetString()));
        Assert.Contains("imagePullCredentialsVerificationPolicy", Json(run.Lines[1]).GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.Contains("registryPullQPS", Json(run.Lines[2]).GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.Contains("quay.io/org/app:1", Json(run.Lines[3]).GetProperty("summary").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("this is not json", "line 2 is not valid JSON")]
    [InlineData("[\"message\"]", "line 2 is a JSON an array, not an object")]
    [InlineData("\"just a string\"", "line 2 is a JSON a string")]
    [InlineData("42", "line 2 is a JSON a number")]
    [InlineData("{\"msg\": \"typo in the field name\"}", "line 2 has no \"message\" field")]
    [InlineData("{\"message\": null}", "\"message\" must be a string, not null")]
    [InlineData("{\"message\": 401}", "\"message\" must be a string, not a number")]
    [InlineData("{\"message\": {\"text\": \"x\"}}", "\"message\" must be a string, not an object")]
    [InlineData("{\"message\": \"x\", \"reason\": [1]}", "\"reason\" must be a string when present, not an array")]
    [InlineData("{\"message\": \"unterminated", "line 2 is not valid JSON")]
    [InlineData("   ", "line 2 is blank")]
    [InlineData("", "line 2 is blank")]
    public async Task A_bad_line_gets_an_error_on_its_own_line_and_the_rest_is_still_classified(string bad, string expected)
    {
        var input = "{\"message\": \"manifest unknown\"}\n" + bad + "\n{\"message\": \"dial tcp: lookup registry.example.com: no such host\"}\n";

        var run = await ClassifyAsync(input);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(3, run.Lines.Length);
        Assert.Equal("image_not_found", Json(run.Lines[0]).GetProperty("cause").GetString());
        var error = Json(run.Lines[1]);
        Assert.Equal(2, error.GetProperty("line").GetInt32());
        Assert.Contains(expected, error.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.False(error.TryGetProperty("cause", out _));
        Assert.Equal("network", Json(run.Lines[2]).GetProperty("cause").GetString());
    }

    [Fact]
    public async Task A_line_over_the_limit_is_reported_and_skipped_without_losing_the_next_line()
    {
        var huge = "{\"message\": \"" + new string('a', ClassifyVerb.MaxLineLength + 10) + "\"}";
        var input = huge + "\n{\"message\": \"toomanyrequests: You have reached your pull rate limit.\"}\n";

        var run = await ClassifyAsync(input);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(2, run.Lines.Length);
        Assert.Contains("longer than 1048576 characters", Json(run.Lines[0]).GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("rate_limited", Json(run.Lines[1]).GetProperty("cause").GetString());
    }

    [Fact]
    public async Task A_long_line_under_the_limit_is_classified()
    {
        var message = "Failed to pull image \"app:1\": " + new string('x', 50_000) + " no space left on device";
        var input = JsonSerializer.Serialize(new { message }) + "\n";

        var run = await ClassifyAsync(input);

        Assert.Equal(0, run.ExitCode);
        Assert.Single(run.Lines);
        Assert.Equal("node_storage", Json(run.Lines[0]).GetProperty("cause").GetString());
    }

    [Fact]
    public async Task Windows_line_endings_and_a_missing_final_newline_are_fine()
    {
        var run = await ClassifyAsync("{\"message\": \"manifest unknown\"}\r\n{\"message\": \"x509: certificate signed by unknown authority\"}");

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(["image_not_found", "tls"], run.Lines.Select(l => Json(l.TrimEnd('\r')).GetProperty("cause").GetString()));
    }

    [Fact]
    public async Task Empty_input_writes_nothing_and_succeeds()
    {
        var run = await ClassifyAsync(string.Empty);
        Assert.Equal(0, run.ExitCode);
        Assert.Empty(run.Lines);
    }

    [Fact]
    public async Task Output_is_one_json_object_per_line_even_for_quotes_and_non_ascii()
    {
        var run = await ClassifyAsync("{\"message\": \"Failed to apply default image tag \\\"Ünïcode\\\": couldn't parse image reference \\\"Ünïcode\\\": invalid reference format\"}\n");

        var answer = Json(Assert.Single(run.Lines));
        Assert.Equal("invalid_name", answer.GetProperty("cause").GetString());
        Assert.Contains("\"Ünïcode\"", answer.GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.Contains("Ünïcode", run.Lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_real_fixture_file_piped_through_the_verb_keeps_the_classifier_accuracy()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", "messages", "messages.jsonl");
        var input = await File.ReadAllTextAsync(path);
        var expected = input.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => Json(l).GetProperty("expected").GetString()).ToArray();

        var run = await ClassifyAsync(input);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(expected.Length, run.Lines.Length);
        var right = run.Lines.Zip(expected).Count(pair => Json(pair.First).GetProperty("cause").GetString() == pair.Second);
        Assert.True(right >= expected.Length * 0.95, $"{right} of {expected.Length} right");
    }

    [Theory]
    [InlineData("--verbose", "unknown option '--verbose'")]
    [InlineData("-x", "unknown option '-x'")]
    [InlineData("messages.jsonl", "unexpected argument 'messages.jsonl'")]
    public async Task Unknown_options_and_arguments_are_usage_errors(string arg, string expected)
    {
        var run = await ClassifyAsync("{\"message\": \"manifest unknown\"}\n", arg);

        Assert.Equal(2, run.ExitCode);
        Assert.Empty(run.Lines);
        Assert.Contains(expected, run.Error, StringComparison.Ordinal);
        Assert.Contains("chatopspull classify --help", run.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Help_option_prints_the_usage(string arg)
    {
        var run = await ClassifyAsync(string.Empty, arg);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains("usage: chatopspull classify", string.Join('\n', run.Lines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reading_is_line_by_line_from_a_slow_stream()
    {
        // One character per read, as from a pipe that delivers slowly.
        var text = "{\"message\": \"manifest unknown\"}\r\n\r\n{\"message\": \"i/o timeout\"}";
        using var stdin = new TrickleReader(text);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var code = await CliApp.RunAsync(["classify"], stdin, stdout, stderr);

        var lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(1, code);
        Assert.Equal(3, lines.Length);
        Assert.Equal("network", Json(lines[2]).GetProperty("cause").GetString());
    }

    private sealed class TrickleReader(string text) : TextReader
    {
        private int _position;

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override int Read(Span<char> buffer)
        {
            if (_position >= text.Length || buffer.IsEmpty)
            {
                return 0;
            }

            buffer[0] = text[_position++];
            return 1;
        }

        public override ValueTask<int> ReadAsync(Memory<char> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));
    }
}
