using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ChatOpsPull.Core.Failures;
using ChatOpsPull.Detection.KubernetesWatch;

namespace ChatOpsPull.Tests.Kubernetes;

/// <summary>
/// The event field path and the image of a kubelet message are read by hand (no match objects per event in a storm);
/// these tests hold them to the regular expressions they replaced, over the real-world message corpus and the edges.
/// </summary>
public sealed partial class KubeletMessageReadingTests
{
    [GeneratedRegex(@"^spec\.(containers|initContainers|ephemeralContainers)\{([^}]+)\}$", RegexOptions.CultureInvariant)]
    private static partial Regex FieldPathPattern();

    [GeneratedRegex("image \"([^\"]+)\"", RegexOptions.CultureInvariant)]
    private static partial Regex QuotedImagePattern();

    public static TheoryData<string> FieldPaths() =>
    [
        "spec.containers{web}", "spec.initContainers{migrate}", "spec.ephemeralContainers{debugger-5xk2p}",
        "spec.containers{w}", "spec.containers{}", "spec.containers{web", "spec.containers{web}x", "spec.containers{we}b}",
        "spec.containers{{web}", "spec.containers{web}\n", "spec.containers{web}\n\n", "spec.containers{we\nb}",
        "spec.sidecars{web}", "spec.containers", "status.containers{web}", "xspec.containers{web}", "spec.Containers{web}",
        "spec.containers{web}}", "spec.{web}", "spec.containers{ web }", "{web}", "", "}",
    ];

    [Theory]
    [MemberData(nameof(FieldPaths))]
    public void A_field_path_is_read_as_the_pattern_read_it(string fieldPath)
    {
        var match = FieldPathPattern().Match(fieldPath);
        var read = PodPullState.TryParseFieldPath(fieldPath, out var kind, out var container);

        Assert.Equal(match.Success, read);
        if (match.Success)
        {
            var expected = match.Groups[1].Value switch
            {
                "initContainers" => ContainerKind.Init,
                "ephemeralContainers" => ContainerKind.Ephemeral,
                _ => ContainerKind.Regular,
            };
            Assert.Equal((expected, match.Groups[2].Value), (kind, container));
        }
    }

    public static TheoryData<string> Messages() => [.. MessageTexts()];

    private static List<string> MessageTexts()
    {
        var messages = new List<string>
        {
            "Back-off pulling image \"nginx:1\"", "Failed to pull image \"\": empty", "image \"\" then image \"nginx:1\"",
            "image \"", "image \"nginx", "image \"\"", "pull image \"a\" and image \"b\"", "image \"\"x\" and more", "no image here",
            "Container image \"busybox:1.36\" already present on machine", "image  \"two spaces\"", "IMAGE \"upper\"", "",
        };
        var fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures", "messages");
        foreach (var file in Directory.GetFiles(fixtures, "*.jsonl", SearchOption.AllDirectories))
        {
            foreach (var line in File.ReadLines(file).Where(l => l.Length > 0))
            {
                messages.Add(JsonNode.Parse(line)!["message"]!.GetValue<string>());
            }
        }

        return messages;
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void The_image_of_a_message_is_read_as_the_pattern_read_it(string message)
    {
        var match = QuotedImagePattern().Match(message);

        Assert.Equal(match.Success ? match.Groups[1].Value : null, PodPullState.ImageInMessage(message));
    }

    [Fact]
    public void The_corpus_holds_messages_that_name_an_image()
    {
        // The comparison above is only worth something if the real messages exercise the reader, not just the edges.
        var named = MessageTexts().Count(m => PodPullState.ImageInMessage(m) is not null);

        Assert.True(named > 200, $"{named} messages name an image");
    }
}
