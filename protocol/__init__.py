"""The contract between edge agents, gateways and the server.

Everything that crosses MQTT is defined here: the versioned topic tree
(:mod:`protocol.topics`), one typed message per family
(:mod:`protocol.messages`), strict decoding with a size limit and typed
rejections (:mod:`protocol.codec`), and the signed dynamic-QR tokens
(:mod:`protocol.tokens`).
"""
