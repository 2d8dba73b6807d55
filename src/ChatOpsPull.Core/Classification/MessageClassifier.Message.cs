using ChatOpsPull.Core.Images;

namespace ChatOpsPull.Core.Classification;

public static partial class MessageClassifier
{
    /// <summary>
    /// The message as written, the phrases found in it (ignoring case) and what the same scan read at its
    /// positional phrases: the HTTP status and the words that count only at the end. The image, host and other
    /// details are read from it only when a summary is written.
    /// </summary>
    private readonly ref struct Message
    {
        private readonly ReadOnlySpan<char> original;
        private readonly PhraseMask found;
        private readonly MessageFacts facts;

        public Message(ReadOnlySpan<char> original, PhraseMask found, MessageFacts facts)
        {
            this.original = original;
            this.found = found;
            this.facts = facts;
        }

        public bool IsEmpty => original.IsEmpty;

        public bool Has(PhraseMask phrases) => found.Intersects(phrases);

        /// <summary>": denied" as a whole last word: at the end, or followed by something that is not a letter or digit.</summary>
        public bool DeniedAsWord => facts.DeniedAsWord;

        /// <summary>": eof" as a whole last word (not ": eof…" inside a longer word).</summary>
        public bool EofAsWord => facts.EofAsWord;

        /// <summary>The node's HTTP proxy refused the CONNECT: "Forbidden" alone right after the URL (Go's transport, dialConn).</summary>
        public bool ProxyRefusedConnect => facts.ProxyRefusedConnect;

        /// <summary>
        /// The first HTTP status written after "status", "HTTP " or "response code" ("unexpected status: 401", "response
        /// status code 429", "HTTP 403 response body", "(HTTP code 500)", "Response code: 401"), or after the URL such an
        /// anchor names ("unexpected status from HEAD request to https://…: 401", "unexpected HEAD status code https://…:
        /// 404 Not Found"), or 0; read during the scan. Numbers elsewhere (account ids, digests, ports) are not statuses.
        /// </summary>
        public int StatusCode => facts.Status;

        /// <summary>The text ends with the quoted image (and at most a colon): "Failed to pull image \"x\"", the error cut off.</summary>
        public bool EndsWithQuotedImage
        {
            get
            {
                var end = original.TrimEnd(" :.").TrimEnd('\\');
                return end.EndsWith('"') && Image() is { Length: > 0 } image && end[..^1].TrimEnd('\\').EndsWith(image, StringComparison.Ordinal);
            }
        }

        /// <summary>The word after an anchor ("wanted to match registry.local"), up to a space, comma or quote.</summary>
        public string? WordAfter(string anchor)
        {
            var at = original.IndexOf(anchor, StringComparison.OrdinalIgnoreCase);
            if (at < 0)
            {
                return null;
            }

            var rest = original[(at + anchor.Length)..];
            var end = rest.IndexOfAny(" ,\"");
            var word = (end < 0 ? rest : rest[..end]).TrimEnd('.');
            return word.IsEmpty ? null : word.ToString();
        }

        /// <summary>"linux/arm64" from "no matching manifest for linux/arm64 in …" or "architecture amd64, …, OS linux".</summary>
        public string? WantedPlatform()
        {
            foreach (var anchor in (ReadOnlySpan<string>)["no matching manifest for ", "wanted "])
            {
                if (Word(anchor, " ,") is { } platform && platform.Contains('/', StringComparison.Ordinal))
                {
                    return platform;
                }
            }

            var arch = original.IndexOf("for architecture ", StringComparison.OrdinalIgnoreCase);
            var os = original.IndexOf(", os ", StringComparison.OrdinalIgnoreCase);
            if (arch < 0 || os <= arch)
            {
                return null;
            }

            var a = original[(arch + "for architecture ".Length)..];
            a = a[..Math.Max(0, a.IndexOf(','))];
            var o = original[(os + ", os ".Length)..];
            var oEnd = o.IndexOfAny(" \",");
            o = oEnd < 0 ? o : o[..oEnd];
            return a.IsEmpty || o.IsEmpty ? null : string.Concat(o, "/", a);
        }

        /// <summary>The image named in the message, as written, or null.</summary>
        public string? Image()
        {
            // Kubelet quotes it ("Failed to pull image \"x\""), escaped once more inside sync-error lines.
            if (Quoted("image ") is { Length: > 0 } quoted)
            {
                return quoted;
            }

            if (Quoted("reference ") is { Length: > 0 } reference)
            {
                return reference;
            }

            // CRI-O / containers-image: "docker://quay.io/org/app:tag: reading manifest …".
            if (Word("docker://", " \",") is { Length: > 0 } source)
            {
                return source.TrimEnd(':');
            }

            // containers-image: "reading manifest 1.13 in docker.io/library/nginx: …".
            var reading = original.IndexOf("reading manifest ", StringComparison.OrdinalIgnoreCase);
            if (reading >= 0)
            {
                var rest = original[(reading + "reading manifest ".Length)..];
                var space = rest.IndexOf(' ');
                if (space > 0 && rest[space..].StartsWith(" in ", StringComparison.Ordinal))
                {
                    var tag = rest[..space];
                    var repository = rest[(space + 4)..];
                    var end = repository.IndexOfAny(": \"");
                    repository = end < 0 ? repository : repository[..end];
                    if (!repository.IsEmpty)
                    {
                        return string.Concat(repository, tag.Contains(':') ? "@" : ":", tag);
                    }
                }
            }

            // Docker: "manifest for nginx:1.99 not found" (not "no matching manifest for linux/amd64").
            var manifestFor = original.IndexOf("manifest for ", StringComparison.OrdinalIgnoreCase);
            if (manifestFor >= 0 && !original[..manifestFor].EndsWith("matching ", StringComparison.OrdinalIgnoreCase))
            {
                var rest = original[(manifestFor + "manifest for ".Length)..];
                var end = rest.IndexOf(' ');
                return end <= 0 ? null : rest[..end].ToString();
            }

            return null;
        }

        /// <summary>The registry host: from the image when one is named, else from a URL or a DNS lookup in the message.</summary>
        public string? Host(string? image)
        {
            // CRI-O names the source it actually contacted ("docker://quay.io/…") after resolving short names.
            var source = Word("docker://", " \",")?.TrimEnd(':') ?? image;
            if (source is not null)
            {
                return RegistryHost(source);
            }

            foreach (var scheme in (ReadOnlySpan<string>)["https://", "http://"])
            {
                var from = 0;
                int at;
                while ((at = original[from..].IndexOf(scheme, StringComparison.OrdinalIgnoreCase)) >= 0)
                {
                    var start = from + at + scheme.Length;
                    var end = original[start..].IndexOfAny("/\" ?");
                    var host = end < 0 ? original[start..] : original[start..(start + end)];
                    from = start;
                    if (host.IsEmpty || IsDocumentationHost(host))
                    {
                        continue;
                    }

                    // Docker Hub's API and token hosts stand for Docker Hub.
                    return DockerHub.IsServiceHost(host) ? DockerHub.Domain : host.ToString();
                }
            }

            foreach (var anchor in (ReadOnlySpan<string>)["lookup ", "pinging container registry ", "pinging docker registry "])
            {
                if (Word(anchor, " :\"") is { } host && host.Contains('.', StringComparison.Ordinal))
                {
                    return host;
                }
            }

            return null;
        }

        /// <summary>The text after an anchor, up to one of the stop characters (or the end).</summary>
        private string? Word(string anchor, string stops)
        {
            var at = original.IndexOf(anchor, StringComparison.OrdinalIgnoreCase);
            if (at < 0)
            {
                return null;
            }

            var rest = original[(at + anchor.Length)..];
            var end = rest.IndexOfAny(stops);
            return (end < 0 ? rest : rest[..end]).ToString();
        }

        /// <summary>The first non-empty quoted text after an anchor: "image \"x\"", or "image \\\"x\\\"" inside a quoted error.</summary>
        private string? Quoted(string anchor)
        {
            var at = original.IndexOf(anchor, StringComparison.OrdinalIgnoreCase);
            while (at >= 0)
            {
                var rest = original[(at + anchor.Length)..].TrimStart('\\');
                if (!rest.IsEmpty && rest[0] == '"')
                {
                    rest = rest[1..];
                    var end = rest.IndexOfAny('"', '\\');
                    var value = end < 0 ? rest : rest[..end];
                    if (!value.IsEmpty)
                    {
                        return value.ToString();
                    }
                }

                var next = original[(at + anchor.Length)..].IndexOf(anchor, StringComparison.OrdinalIgnoreCase);
                at = next < 0 ? -1 : at + anchor.Length + next;
            }

            return null;
        }

        /// <summary>The registry of an image as the runtimes pick it (splitDockerDomain), without validating the rest.</summary>
        private static string RegistryHost(string image)
        {
            var slash = image.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0)
            {
                return DockerHub.Domain;
            }

            var first = image.AsSpan(0, slash);
            var isHost = first.SequenceEqual("localhost") || first.ContainsAny('.', ':') || first.IndexOfAnyInRange('A', 'Z') >= 0;
            return !isHost || DockerHub.IsRegistryHost(first) ? DockerHub.Domain : first.ToString();
        }

        /// <summary>Links to documentation inside registry messages are not the registry.</summary>
        private static bool IsDocumentationHost(ReadOnlySpan<char> host) =>
            host.SequenceEqual("www.docker.com") || host.SequenceEqual("docs.docker.com") || host.SequenceEqual("aka.ms")
            || host.SequenceEqual("cloud.google.com") || host.SequenceEqual("docs.aws.amazon.com") || host.SequenceEqual("learn.microsoft.com")
            || host.SequenceEqual("access.redhat.com");
    }
}
