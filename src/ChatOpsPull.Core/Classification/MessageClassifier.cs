using ChatOpsPull.Core.Failures;

namespace ChatOpsPull.Core.Classification;

/// <summary>What the message alone says. Live evidence (registry, secrets, network) raises or overrides it.</summary>
public sealed record Classification(PullCause Cause, double Confidence, string Summary);

/// <summary>
/// From a kubelet/runtime message (container status or Warning event) to a cause.
/// First version: a few clear phrases. The full classifier replaces the rules, not this signature.
/// </summary>
public static class MessageClassifier
{
    public static Classification Classify(string? message, string? reason = null)
    {
        var text = message ?? string.Empty;
        if (reason == "InvalidImageName" || text.Contains("invalid reference format", StringComparison.OrdinalIgnoreCase))
        {
            return new Classification(PullCause.InvalidName, 0.95, "The image reference is not a valid name.");
        }

        if (reason == "ErrImageNeverPull")
        {
            return new Classification(PullCause.NeverPull, 0.95, "imagePullPolicy is Never and the image is not on the node.");
        }

        if (text.Contains("not found", StringComparison.OrdinalIgnoreCase) || text.Contains("manifest unknown", StringComparison.OrdinalIgnoreCase))
        {
            return new Classification(PullCause.ImageNotFound, 0.7, "The registry does not have this image or tag.");
        }

        if (text.Contains("unauthorized", StringComparison.OrdinalIgnoreCase) || text.Contains("401", StringComparison.Ordinal))
        {
            return new Classification(PullCause.AuthFailed, 0.7, "The registry rejected the credentials.");
        }

        if (text.Length == 0 || text.StartsWith("Back-off pulling image", StringComparison.Ordinal))
        {
            return new Classification(PullCause.BackoffOnly, 0.3, "Kubelet is backing off; the underlying error is not in this message.");
        }

        return new Classification(PullCause.Unknown, 0.2, "The pull failed for a reason the message does not make clear.");
    }
}
