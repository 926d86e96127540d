// The one unit of the program that compiles the engine (see main.cpp).
#include <tessel/instantiate.hpp>
