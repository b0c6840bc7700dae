// Command zhengzhao runs the electronic license and seal platform.
package main

func main() {}
