using System.Text.RegularExpressions;

namespace ChatOpsPull.Tests.Manifests;

/// <summary>
/// Docker cannot run on this machine (no daemon), so the Dockerfile is checked statically: multi-stage, pinned base images,
/// non-root, a health check through the executable's own verb, the data directory as a volume, no secrets baked in.
/// </summary>
public sealed partial class DockerfileTests
{
    private static readonly string[] Lines = Instructions(File.ReadAllText(RenderedManifests.Path("Dockerfile")));

    [Fact]
    public void It_builds_in_one_stage_and_runs_in_another_from_pinned_base_images()
    {
        var froms = Lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        var args = Lines.Where(l => l.StartsWith("ARG ", StringComparison.Ordinal) && l.Contains('=', StringComparison.Ordinal))
            .ToDictionary(l => l[4..l.IndexOf('=', StringComparison.Ordinal)], l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..]);

        Assert.Equal(2, froms.Count);
        Assert.Contains(" AS build", froms[0], StringComparison.Ordinal);
        Assert.Contains(" AS runtime", froms[1], StringComparison.Ordinal);
        foreach (var from in froms)
        {
            var image = from.Split(' ', StringSplitOptions.RemoveEmptyEntries).First(w => w.Contains("mcr.microsoft.com", StringComparison.Ordinal));
            var tag = VariableReference().Replace(image[(image.LastIndexOf(':') + 1)..], m => args[m.Groups[1].Value]);
            Assert.Matches(@"^\d+\.\d+\.\d+(-[a-z-]+)?(@sha256:[0-9a-f]{64})?$", tag); // an exact version, never "latest" or "10.0"
        }

        // The runtime comes with the bot (self-contained): the runtime stage holds only what .NET needs from the OS.
        Assert.Contains("runtime-deps", froms[1], StringComparison.Ordinal);
    }

    [Fact]
    public void The_bot_is_published_self_contained_and_ready_to_run_as_one_composite_image_and_restored_for_it()
    {
        var restore = Assert.Single(Lines, l => l.StartsWith("RUN dotnet restore ", StringComparison.Ordinal));
        var publish = Assert.Single(Lines, l => l.StartsWith("RUN dotnet publish ", StringComparison.Ordinal));

        // Without the properties at restore, crossgen2 and the runtime packs are not fetched and the publish (--no-restore)
        // stops with NETSDK1094 / NETSDK1047.
        Assert.Contains("-p:PublishReadyToRun=true", restore, StringComparison.Ordinal);
        Assert.Contains("-p:SelfContained=true", restore, StringComparison.Ordinal);
        Assert.Contains("-p:PublishReadyToRun=true", publish, StringComparison.Ordinal);
        Assert.Contains("-p:PublishReadyToRunComposite=true", publish, StringComparison.Ordinal);
        Assert.Contains("--self-contained true", publish, StringComparison.Ordinal);
        Assert.Contains("--arch \"$TARGETARCH\"", publish, StringComparison.Ordinal);
    }

    [Fact]
    public void The_runtime_stage_runs_as_a_non_root_user_with_the_data_directory_as_a_volume()
    {
        var runtime = RuntimeStage();
        var user = runtime.Last(l => l.StartsWith("USER ", StringComparison.Ordinal))[5..].Split(':')[0];

        Assert.True(int.TryParse(user, out var uid) && uid > 0, $"USER {user} must be a numeric non-root uid (Kubernetes runAsNonRoot checks it)");
        Assert.Contains(runtime, l => l == "VOLUME [\"/data\"]");
        Assert.Contains(runtime, l => l.StartsWith("COPY --from=build --chown=" + user, StringComparison.Ordinal) && l.EndsWith("/data /data", StringComparison.Ordinal));
        Assert.Contains(runtime, l => l.Contains("CHATOPSPULL__Bot__DataDirectory=/data", StringComparison.Ordinal));
        Assert.DoesNotContain(runtime, l => l.StartsWith("RUN ", StringComparison.Ordinal)); // the chiseled image has no shell
    }

    [Fact]
    public void The_health_check_uses_the_healthcheck_verb_on_the_port_the_bot_listens_on()
    {
        var runtime = RuntimeStage();
        var healthcheck = Assert.Single(runtime, l => l.StartsWith("HEALTHCHECK ", StringComparison.Ordinal));
        var listen = runtime.Single(l => l.Contains("CHATOPSPULL__Urls=", StringComparison.Ordinal));
        var port = PortOf().Match(listen[listen.IndexOf("CHATOPSPULL__Urls=", StringComparison.Ordinal)..]).Groups[1].Value;

        Assert.Contains("\"healthcheck\"", healthcheck, StringComparison.Ordinal);
        Assert.Contains($"http://127.0.0.1:{port}/healthz", healthcheck, StringComparison.Ordinal);
        Assert.Contains(runtime, l => l == $"EXPOSE {port}");
        Assert.Contains("[\"/app/chatopspull\", \"healthcheck\"", healthcheck, StringComparison.Ordinal);
        Assert.Contains(runtime, l => l == "ENTRYPOINT [\"/app/chatopspull\"]"); // the executable itself: there is no dotnet host in the image
    }

    [Fact]
    public void No_secret_is_baked_into_the_image_and_the_context_leaves_local_state_out()
    {
        Assert.DoesNotContain(Lines, l => l.StartsWith("ENV ", StringComparison.Ordinal) || l.StartsWith("ARG ", StringComparison.Ordinal)
            ? SecretName().IsMatch(l)
            : false);
        var ignored = File.ReadAllLines(RenderedManifests.Path(".dockerignore"));
        foreach (var entry in new[] { ".git/", "tests/", "**/bin/", "**/obj/", "data/", "**/*.db", ".env" })
        {
            Assert.Contains(entry, ignored);
        }
    }

    [Fact]
    public void Everything_the_build_stage_copies_from_the_context_is_in_it()
    {
        var ignored = File.ReadAllLines(RenderedManifests.Path(".dockerignore")).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var sources = Lines.Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from=", StringComparison.Ordinal))
            .SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..^1])
            .ToList();
        Assert.Contains("manifests/teams/", sources);
        foreach (var source in sources)
        {
            // Docker's rule: the last pattern that matches decides; "!" re-includes.
            var last = ignored.LastOrDefault(p => source.StartsWith(p.TrimStart('!'), StringComparison.Ordinal) || p.TrimStart('!').StartsWith(source, StringComparison.Ordinal) && p.StartsWith('!'));
            Assert.True(last is null || last.StartsWith('!'), $"COPY {source}: .dockerignore leaves it out of the build context ({last})");
        }
    }

    private static List<string> RuntimeStage() =>
        Lines.SkipWhile(l => !(l.StartsWith("FROM ", StringComparison.Ordinal) && l.Contains(" AS runtime", StringComparison.Ordinal))).ToList();

    /// <summary>Instructions with line continuations joined and comments dropped.</summary>
    private static string[] Instructions(string text) =>
        text.Replace("\\\n", " ", StringComparison.Ordinal).Split('\n')
            .Select(l => Regex.Replace(l.Trim(), @"\s+", " "))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .ToArray();

    [GeneratedRegex(@"\$\{(\w+)\}")]
    private static partial Regex VariableReference();

    [GeneratedRegex(@":(\d+)")]
    private static partial Regex PortOf();

    [GeneratedRegex("(TOKEN|SECRET|PASSWORD|PASSWD|APIKEY|API_KEY|CONNECTIONSTRING)", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();
}
