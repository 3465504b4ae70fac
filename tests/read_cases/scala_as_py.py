// Databricks notebook source
val x = 1
