using System.Security.Cryptography;
using System.Text.Json;
using ChatOpsPull.Core.Approvals;
using ChatOpsPull.Remediation;
using ChatOpsPull.Storage;

namespace ChatOpsPull.Approvals;

/// <summary>
/// The signature of an approval decision: HMAC-SHA256, with the key of the request's cluster
/// (<see cref="Fleet.DecisionKeys"/>), over everything the fix depends on — the request's id, cluster and incident, the plan
/// (kind and parameters, as stored), its status, when it was asked for and when it expires, and each vote (who, which way,
/// when). Written beside the request in the transaction that approves it; the cluster's bot checks it before the fix acts,
/// so a row changed or written by a bot without that cluster's key does not verify.
/// </summary>
public static class DecisionSignature
{
    private const string Version = "v1.";

    public static string Sign(byte[] key, ApprovalRequest request) =>
        Version + Convert.ToBase64String(HMACSHA256.HashData(key, Message(request)));

    public static bool Verifies(byte[] key, ApprovalRequest request, string? signature)
    {
        if (signature is null || !signature.StartsWith(Version, StringComparison.Ordinal))
        {
            return false;
        }

        Span<byte> given = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (!Convert.TryFromBase64String(signature[Version.Length..], given, out var written) || written != given.Length)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(given, HMACSHA256.HashData(key, Message(request)));
    }

    /// <summary>The signed fields as one JSON document (every field quoted, so no two requests read the same).</summary>
    private static byte[] Message(ApprovalRequest request) =>
        JsonSerializer.SerializeToUtf8Bytes(new object[]
        {
            "chatopspull approval decision v1",
            request.Id,
            request.Cluster,
            request.IncidentId,
            JsonSerializer.Serialize(request.Plan, RemediationJson.Options),
            ApprovalStore.StatusName(request.Status),
            BotDatabase.ToDb(request.RequestedAt),
            BotDatabase.ToDb(request.ExpiresAt),
            request.Required,
            request.Votes.Select(v => new object[] { v.By.Platform, v.By.Id, v.Approve, BotDatabase.ToDb(v.At) }).ToArray(),
        });
}
