// The listening side that the PostgreSQL and HTTP front ends share: the
// address a --listen / --http host names, the TLS context of
// --tls-cert/--tls-key, and the listening socket. `context` is appended to
// the errors (" for --http"), so that a user can tell which flag is wrong.
#pragma once

#include <utility>  // before Asio: Boost 1.74's headers use std::exchange without it

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <optional>
#include <string>

namespace cdb::server {

// A literal address as it is; a host name resolved, IPv4 preferred.
// std::invalid_argument naming the host when it cannot be used.
boost::asio::ip::address listen_address(boost::asio::io_context& io, const std::string& host,
                                        const std::string& context = "");

// TLS 1.2 or later with the certificate chain and private key (PEM).
void use_server_tls(std::optional<boost::asio::ssl::context>& tls, const std::string& cert, const std::string& key);

// Opens, binds (SO_REUSEADDR) and listens; std::runtime_error naming the
// host and port when it cannot.
void open_acceptor(boost::asio::ip::tcp::acceptor& acceptor, const boost::asio::ip::tcp::endpoint& endpoint,
                   const std::string& host, const std::string& context = "");

}  // namespace cdb::server
