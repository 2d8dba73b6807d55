using BenchmarkDotNet.Attributes;
using ChatOpsPull.Core.Classification;

namespace ChatOpsPull.Bench;

/// <summary>
/// Typical kubelet messages (real ones from tests/fixtures/messages), 250–450 characters.
/// "unrecognised" walks every rule and falls through: the worst case. <see cref="Floor"/> is the least any classifier
/// of the text must do (lower-case it and search it for one phrase), measured in the same run, so that figures from a
/// loaded machine can be read against it. <see cref="ClassifyAndSummarize"/> also writes the summary, which
/// <see cref="Classify"/> leaves until someone reads it.
/// </summary>
[MemoryDiagnoser]
public class ClassifierBenchmarks
{
    internal static readonly Dictionary<string, (string Message, string Reason)> Messages = new()
    {
        ["not_found_containerd"] = ("Failed to pull image \"ghcr.io/alexsjones/sympozium/apiserver:v0.0.29\": rpc error: code = NotFound desc = failed to pull and unpack image \"ghcr.io/alexsjones/sympozium/apiserver:v0.0.29\": failed to resolve reference \"ghcr.io/alexsjones/sympozium/apiserver:v0.0.29\": ghcr.io/alexsjones/sympozium/apiserver:v0.0.29: not found", "ErrImagePull"),
        ["auth_acr_oauth"] = ("Failed to pull image \"myacr.azurecr.io/fluent/fluent-bit:3.1.6\": rpc error: code = Unknown desc = failed to pull and unpack image \"myacr.azurecr.io/fluent/fluent-bit:3.1.6\": failed to resolve reference \"myacr.azurecr.io/fluent/fluent-bit:3.1.6\": failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://myacr.azurecr.io/oauth2/token?scope=repository%3Afluent%2Ffluent-bit%3Apull&service=myacr.azurecr.io: 401 Unauthorized", "ErrImagePull"),
        ["rate_limited_hub"] = ("Failed to pull image \"busybox\": rpc error: code = Unknown desc = failed to pull and unpack image \"docker.io/library/busybox:latest\": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/busybox/manifests/sha256:50aa4698fa6262977cff89181b2664b99d8a56dbca847bf62f2ef04854597cf8: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit.", "ErrImagePull"),
        ["network_timeout"] = ("rpc error: code = Unknown desc = failed to pull and unpack image \"registry.k8s.io/kube-proxy:v1.28.2\": failed to resolve reference \"registry.k8s.io/kube-proxy:v1.28.2\": failed to do request: Head \"https://registry.k8s.io/v2/kube-proxy/manifests/v1.28.2\": dial tcp 34.96.108.209:443: connect: connection timed out", "ErrImagePull"),
        ["backoff_appended"] = ("Back-off pulling image \"ghcr.io/alexsjones/sympozium/node-probe:v0.1.8\": ErrImagePull: rpc error: code = NotFound desc = failed to pull and unpack image \"ghcr.io/alexsjones/sympozium/node-probe:v0.1.8\": failed to resolve reference \"ghcr.io/alexsjones/sympozium/node-probe:v0.1.8\": ghcr.io/alexsjones/sympozium/node-probe:v0.1.8: not found", "ImagePullBackOff"),
        ["unrecognised"] = ("Failed to pull image \"registry.example.com/platform/payments-api:2024.11.3\": rpc error: code = Canceled desc = failed to pull and unpack image \"registry.example.com/platform/payments-api:2024.11.3\": failed to resolve reference \"registry.example.com/platform/payments-api:2024.11.3\": context canceled while the node was being drained by the autoscaler", "ErrImagePull"),
    };

    [ParamsSource(nameof(Kinds))]
    public string Kind { get; set; } = "not_found_containerd";

    public static IEnumerable<string> Kinds => Messages.Keys;

    private string _message = string.Empty;
    private string _reason = string.Empty;

    [GlobalSetup]
    public void Setup() => (_message, _reason) = Messages[Kind];

    [Benchmark(Baseline = true)]
    public int Floor()
    {
        Span<char> lower = stackalloc char[_message.Length];
        _message.AsSpan().ToLowerInvariant(lower);
        return lower.IndexOf("manifest unknown", StringComparison.Ordinal);
    }

    [Benchmark]
    public Classification Classify() => MessageClassifier.Classify(_message, _reason);

    [Benchmark]
    public string ClassifyAndSummarize() => MessageClassifier.Classify(_message, _reason).Summary;
}
